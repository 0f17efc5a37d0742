// Package words spells numbers 1–99 in the prompt languages, so the
// speech synthesiser says exactly what we mean (and tests can check it).
package words

import "fmt"

var (
	enOnes = [...]string{"", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
		"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	enTens = [...]string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
	frOnes = [...]string{"", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf",
		"dix", "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf"}
	frTens = [...]string{"", "", "vingt", "trente", "quarante", "cinquante", "soixante", "", "quatre-vingt", ""}
)

// English spells n (1–99) in English: "twenty-one".
func English(n int) string {
	if n < 1 || n > 99 {
		panic(fmt.Sprintf("words: %d out of range", n))
	}
	if n < 20 {
		return enOnes[n]
	}
	if n%10 == 0 {
		return enTens[n/10]
	}
	return enTens[n/10] + "-" + enOnes[n%10]
}

// French spells n (1–99) in French (traditional spelling, France):
// "vingt et un", "soixante et onze", "quatre-vingts", "quatre-vingt-un",
// "quatre-vingt-onze". With feminine, un becomes une ("vingt et une
// minutes").
func French(n int, feminine bool) string {
	if n < 1 || n > 99 {
		panic(fmt.Sprintf("words: %d out of range", n))
	}
	un := "un"
	if feminine {
		un = "une"
	}
	switch {
	case n == 1:
		return un
	case n < 20:
		return frOnes[n]
	case n == 80:
		return "quatre-vingts"
	}
	tens, unit := n/10, n%10
	if tens == 7 || tens == 9 { // soixante-dix…, quatre-vingt-dix…: 60/80 + 10–19
		tens--
		unit += 10
	}
	t := frTens[tens]
	switch {
	case unit == 0:
		return t
	case unit == 1 && tens != 8: // vingt et un … soixante et un; quatre-vingt-un has no "et"
		return t + " et " + un
	case unit == 11 && tens == 6: // soixante et onze
		return t + " et onze"
	case unit == 1:
		return t + "-" + un
	}
	return t + "-" + frOnes[unit]
}
