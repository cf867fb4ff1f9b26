package blast

import "testing"

func TestPlausibleAddressesPass(t *testing.T) {
	for _, ok := range []string{"ann@example.com", "a.b+c@mail.example.co.uk", "x_y-z@ex-ample.io"} {
		if !IsValidAddress(ok) {
			t.Errorf("%q should be valid", ok)
		}
	}
}

func TestBrokenAddressesFail(t *testing.T) {
	for _, bad := range []string{
		"", "ann", "ann@", "@example.com", "ann@example", "ann@@example.com",
		"ann lee@example.com", "farid.khan(at)example", "ann@-example.com", "ann@example..com",
		".ann@example.com", "ann..lee@example.com", "ann@example.c0m", "ann@exa mple.com",
		"ännä@example.com",
	} {
		if IsValidAddress(bad) {
			t.Errorf("%q should be invalid", bad)
		}
	}
}
