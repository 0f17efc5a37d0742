package prompts

// The DISA prompts: "enter your extension number, then #" and "enter your
// PIN, then #" (firmware/flow/disa.go).
func init() { ids = append(ids, "disa-extension", "disa-pin") }
