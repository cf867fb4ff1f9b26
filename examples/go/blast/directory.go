package blast

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Directory holds accounts and customers by id, read from a JSON file that stands in for
// the application's database (the same file the Rust workers read).
type Directory struct {
	// Accounts by id.
	Accounts map[string]Account `json:"accounts"`
	// Customers by id.
	Customers map[string]Customer `json:"customers"`
}

// Account is an account that sends blasts.
type Account struct {
	// Name is the display name.
	Name string `json:"name"`
	// Active tells whether the account may send.
	Active bool `json:"active"`
	// Credit is how many mails the account may still send.
	Credit uint64 `json:"credit"`
}

// Customer is a possible recipient.
type Customer struct {
	// Name fills {{name}}.
	Name string
	// Email fills {{email}} and is where the mail goes.
	Email string
	// Active is false once the customer is no longer a customer (default true).
	Active bool
	// OptedOut is true when the customer asked not to receive blasts (default false).
	OptedOut bool
}

// UnmarshalJSON reads a customer: name and email required, active defaults to true,
// opted_out to false, unknown fields refused.
func (c *Customer) UnmarshalJSON(data []byte) error {
	var raw struct {
		Name     *string `json:"name"`
		Email    *string `json:"email"`
		Active   *bool   `json:"active"`
		OptedOut bool    `json:"opted_out"`
	}
	if err := strictDecode(data, &raw); err != nil {
		return err
	}
	if raw.Name == nil {
		return errors.New("customer: missing field `name`")
	}
	if raw.Email == nil {
		return errors.New("customer: missing field `email`")
	}
	*c = Customer{Name: *raw.Name, Email: *raw.Email, Active: raw.Active == nil || *raw.Active, OptedOut: raw.OptedOut}
	return nil
}

// LoadDirectory reads and parses the directory file. The error names the file and why.
func LoadDirectory(path string) (*Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read directory %s: %w", path, err)
	}
	var dir Directory
	if err := strictDecode(data, &dir); err != nil {
		return nil, fmt.Errorf("directory %s is invalid: %w", path, err)
	}
	return &dir, nil
}

// Customer returns the customer with this id.
func (d *Directory) Customer(id string) (Customer, bool) {
	c, ok := d.Customers[id]
	return c, ok
}

// strictDecode decodes one JSON document into v, refusing unknown fields and trailing data.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}
