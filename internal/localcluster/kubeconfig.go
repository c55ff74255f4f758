package localcluster

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeconfigContext is the context name WriteKubeconfig writes.
const KubeconfigContext = "podscrape-local"

// WriteKubeconfig writes a kubeconfig file at path (mode 0600) that reaches the control
// plane as cfg does, with namespace as its context's default namespace, so that kubectl
// and podscrape can be pointed at the local cluster. The file holds credentials: remove
// it when the control plane stops.
func WriteKubeconfig(cfg *rest.Config, namespace, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[KubeconfigContext] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[KubeconfigContext] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
	}
	kc.Contexts[KubeconfigContext] = &clientcmdapi.Context{
		Cluster: KubeconfigContext, AuthInfo: KubeconfigContext, Namespace: namespace,
	}
	kc.CurrentContext = KubeconfigContext
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}
