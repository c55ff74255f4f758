package httpheader

// ValidValue reports whether value can be sent as a header value: it holds no control
// character but tab (no CR, LF, NUL or DEL), as net/http's transport requires. Bytes
// of 0x80 and above are allowed, as the transport allows them.
func ValidValue(value string) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
