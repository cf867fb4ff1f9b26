package blast

import "strings"

// Template is a blast's mail; {{name}} and {{email}} (spaces inside the braces allowed)
// are replaced by the customer's values, other text is kept as is.
type Template struct {
	// Subject is the subject line.
	Subject string `json:"subject"`
	// Body is the body text.
	Body string `json:"body"`
}

// Render fills the template for customer.
func (t Template) Render(customer Customer) (subject, body string) {
	values := map[string]string{"name": customer.Name, "email": customer.Email}
	return renderText(t.Subject, values), renderText(t.Body, values)
}

// renderText replaces each {{ key }} of values in text in one pass (a value containing
// braces is never expanded again); an unknown key is left as it is.
func renderText(text string, values map[string]string) string {
	var out strings.Builder
	rest := text
	for {
		start := strings.Index(rest, "{{")
		if start < 0 {
			break
		}
		out.WriteString(rest[:start])
		after := rest[start+2:]
		end := strings.Index(after, "}}")
		value, known := "", false
		if end >= 0 {
			value, known = values[strings.TrimSpace(after[:end])]
		}
		if known {
			out.WriteString(value)
			rest = after[end+2:]
		} else {
			out.WriteString("{{")
			rest = after
		}
	}
	out.WriteString(rest)
	return out.String()
}
