package webshell

// Sample returns the body of a named sample from the shells table.
func Sample(name string) string {
	for _, s := range shells {
		if s.name == name {
			return s.body
		}
	}
	panic("no sample " + name)
}
