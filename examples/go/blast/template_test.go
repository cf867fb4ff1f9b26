package blast

import "testing"

func TestPlaceholdersAreFilledInSubjectAndBody(t *testing.T) {
	tmpl := Template{Subject: "Hi {{name}}", Body: "{{ name }} <{{email}}>"}
	subject, body := tmpl.Render(Customer{Name: "Ann", Email: "ann@example.com", Active: true})
	if subject != "Hi Ann" || body != "Ann <ann@example.com>" {
		t.Fatalf("got %q / %q", subject, body)
	}
}

func TestUnknownAndUnclosedPlaceholdersAreKept(t *testing.T) {
	values := map[string]string{"name": "Ann"}
	for in, want := range map[string]string{
		"{{phone}} {{name}}": "{{phone}} Ann",
		"{{name":             "{{name",
		"}} {{}}":            "}} {{}}",
	} {
		if got := renderText(in, values); got != want {
			t.Errorf("renderText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValuesAreNotExpandedAgain(t *testing.T) {
	got := renderText("{{name}}", map[string]string{"name": "{{email}}", "email": "e"})
	if got != "{{email}}" {
		t.Fatalf("got %q", got)
	}
}
