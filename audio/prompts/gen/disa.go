package main

// The DISA prompts (issue 14 part 5): asked of a caller the box does not
// recognise by their number.
func init() {
	texts["en"]["disa-extension"] = "Enter your extension number, then press pound."
	texts["en"]["disa-pin"] = "Enter your PIN, then press pound."
	texts["fr"]["disa-extension"] = "Composez votre numéro de poste, puis la touche dièse."
	texts["fr"]["disa-pin"] = "Composez votre code, puis la touche dièse."
}
