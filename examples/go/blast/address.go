package blast

import "strings"

// IsValidAddress reports whether address looks deliverable: one '@', a non-empty local
// part of at most 64 characters without spaces, and a domain of at least two dot-separated
// labels made of letters, digits and inner hyphens, with a top-level label of at least two
// letters. The same check as the Rust worker's is_valid_address.
func IsValidAddress(address string) bool {
	local, domain, ok := strings.Cut(address, "@")
	if !ok {
		return false
	}
	localOK := local != "" &&
		len(local) <= 64 &&
		!strings.HasPrefix(local, ".") &&
		!strings.HasSuffix(local, ".") &&
		!strings.Contains(local, "..") &&
		allBytes(local, func(c byte) bool { return c >= 0x21 && c <= 0x7e && !strings.ContainsRune("@()<>[]:;,\\\"", rune(c)) })
	labels := strings.Split(domain, ".")
	labelOK := func(label string) bool {
		return label != "" && len(label) <= 63 &&
			!strings.HasPrefix(label, "-") && !strings.HasSuffix(label, "-") &&
			allBytes(label, func(c byte) bool { return isAlpha(c) || isDigit(c) || c == '-' })
	}
	tld := labels[len(labels)-1]
	tldOK := len(tld) >= 2 && allBytes(tld, isAlpha)
	if len(address) > 254 || !localOK || len(labels) < 2 || !tldOK {
		return false
	}
	for _, label := range labels {
		if !labelOK(label) {
			return false
		}
	}
	return true
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
