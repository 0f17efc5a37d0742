package numplan

// The plans. Each rule names a prefix and the lengths of the whole number
// (as sent, trunk prefix included) it covers; the longest matching prefix
// wins. What no rule covers is Unknown and needs the international
// permission. The tables are deliberately coarse: they tell the classes
// of cost apart, not every range of every operator; an installer with a
// finer need writes routes with narrower patterns.

// exact is a rule for a number of exactly that length.
func exact(prefix string, c Class) Rule {
	return Rule{Prefix: prefix, Min: len(prefix), Max: len(prefix), Class: c, Example: prefix}
}

// span is a rule for numbers starting with prefix of min..max digits.
func span(prefix string, min, max int, c Class, example string) Rule {
	return Rule{Prefix: prefix, Min: min, Max: max, Class: c, Example: example}
}

// each is the same rule for every prefix in prefixes (examples are made
// by padding the prefix with 5s).
func each(prefixes []string, min, max int, c Class) []Rule {
	var out []Rule
	for _, p := range prefixes {
		ex := p
		for len(ex) < min {
			ex += "5"
		}
		out = append(out, Rule{Prefix: p, Min: min, Max: max, Class: c, Example: ex})
	}
	return out
}

func join(parts ...[]Rule) []Rule {
	var out []Rule
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var digits2to9 = []string{"2", "3", "4", "5", "6", "7", "8", "9"}

// caribbean are the area codes of the NANP that are other countries:
// dialled like national numbers (1 + 10 digits), billed as international,
// and the classic target of "one ring" fraud.
var caribbean = []string{"242", "246", "264", "268", "284", "345", "441", "473", "649", "658", "664",
	"721", "758", "767", "784", "809", "829", "849", "868", "869", "876"}

func nanpRules() []Rule {
	var carib []Rule
	for _, a := range caribbean {
		carib = append(carib,
			Rule{Prefix: "1" + a, Min: 11, Max: 11, Class: International, Example: "1" + a + "5550100"},
			Rule{Prefix: a, Min: 10, Max: 10, Class: International, Example: a + "5550100"})
	}
	return join(
		[]Rule{exact("911", Emergency)},
		// N11 service codes (211 community, 311 city, 411 directory...).
		each([]string{"211", "311", "411", "511", "611", "711", "811"}, 3, 3, Local),
		each(digits2to9, 7, 7, Local),      // NXX-XXXX
		each(digits2to9, 10, 10, National), // NPA-NXX-XXXX
		[]Rule{
			span("1", 11, 11, National, "12125550100"),
			span("900", 10, 10, Premium, "9005550100"),
			span("976", 10, 10, Premium, "9765550100"),
			span("1900", 11, 11, Premium, "19005550100"),
			span("1976", 11, 11, Premium, "19765550100"),
			span("011", 8, 0, International, "011442071234567"),
		},
		carib,
	)
}

var nanp = Plan{Country: "us", CountryCode: "1", Trunk: "1", Rules: nanpRules()}

var plans = map[string]*Plan{
	"fr": {Country: "fr", CountryCode: "33", Trunk: "0", Rules: join(
		[]Rule{exact("15", Emergency), exact("17", Emergency), exact("18", Emergency), exact("112", Emergency),
			exact("114", Emergency), exact("115", Emergency), exact("119", Emergency), exact("191", Emergency),
			exact("196", Emergency), exact("197", Emergency)},
		each([]string{"01", "02", "03", "04", "05", "09"}, 10, 10, National),
		each([]string{"06", "07"}, 10, 10, Mobile),
		[]Rule{
			span("08", 10, 10, National, "0810555555"), // 080 free, 081/082 shared cost
			span("089", 10, 10, Premium, "0899555555"), // surtaxed services
			span("3", 4, 4, Premium, "3949"),           // 3BPQ short numbers, surtaxed
			span("118", 6, 6, Premium, "118712"),       // directory enquiries
			span("116", 6, 6, Local, "116000"),         // harmonised services, free
			span("00", 5, 0, International, "00442071234567"),
		},
	)},
	"uk": {Country: "uk", CountryCode: "44", Trunk: "0", Rules: join(
		[]Rule{exact("999", Emergency), exact("112", Emergency)},
		each([]string{"101", "105", "111"}, 3, 3, Local),
		each(digits2to9, 6, 8, Local), // a subscriber number without the area code
		each([]string{"01", "02"}, 10, 11, National),
		each([]string{"03", "0800", "0808", "084", "087"}, 11, 11, National),
		[]Rule{
			span("07", 11, 11, Mobile, "07700900123"),
			span("070", 11, 11, Premium, "07005555555"), // personal numbers, the fraudster's favourite
			span("076", 11, 11, Premium, "07655555555"), // pagers
			span("09", 11, 11, Premium, "09095555555"),
			span("118", 6, 6, Premium, "118500"),
			span("00", 5, 0, International, "0033144556677"),
		},
	)},
	"de": {Country: "de", CountryCode: "49", Trunk: "0", Rules: join(
		[]Rule{exact("110", Emergency), exact("112", Emergency)},
		each(digits2to9, 3, 8, Local), // a subscriber number without the area code
		[]Rule{
			span("0", 6, 12, National, "030123456"),
			span("0800", 11, 12, National, "08001234567"),
			span("0180", 9, 12, National, "018012345"),
			span("015", 11, 12, Mobile, "015112345678"),
			span("016", 11, 12, Mobile, "016012345678"),
			span("017", 11, 12, Mobile, "017112345678"),
			span("0900", 9, 12, Premium, "09001234567"),
			span("0137", 9, 12, Premium, "01371234567"),
			span("118", 5, 6, Premium, "11833"),
			span("116", 6, 6, Local, "116117"),
			span("00", 5, 0, International, "0033144556677"),
		},
	)},
	"nl": {Country: "nl", CountryCode: "31", Trunk: "0", Rules: join(
		[]Rule{exact("112", Emergency)},
		[]Rule{
			span("0", 10, 10, National, "0201234567"),
			span("06", 10, 10, Mobile, "0612345678"),
			span("0900", 8, 11, Premium, "09001234567"),
			span("0906", 8, 11, Premium, "09061234567"),
			span("0909", 8, 11, Premium, "09091234567"),
			span("18", 4, 6, Premium, "1888"), // directory enquiries
			span("116", 6, 6, Local, "116000"),
			span("00", 5, 0, International, "0033144556677"),
		},
	)},
	"au": {Country: "au", CountryCode: "61", Trunk: "0", Rules: join(
		[]Rule{exact("000", Emergency), exact("112", Emergency), exact("106", Emergency)},
		each(digits2to9, 8, 8, Local),
		each([]string{"02", "03", "07", "08"}, 10, 10, National),
		[]Rule{
			span("04", 10, 10, Mobile, "0412345678"),
			span("05", 10, 10, National, "0550123456"),
			span("13", 6, 6, National, "131313"),
			span("1300", 10, 10, National, "1300123456"),
			span("1800", 10, 10, National, "1800123456"),
			span("19", 8, 10, Premium, "1900123456"),
			span("0011", 6, 0, International, "001144207123456"),
		},
	)},
	"jp": {Country: "jp", CountryCode: "81", Trunk: "0", Rules: join(
		[]Rule{exact("110", Emergency), exact("119", Emergency), exact("118", Emergency)},
		each(digits2to9, 5, 8, Local),
		[]Rule{
			span("0", 10, 10, National, "0312345678"),
			span("050", 11, 11, National, "05012345678"),
			span("070", 11, 11, Mobile, "07012345678"),
			span("080", 11, 11, Mobile, "08012345678"),
			span("090", 11, 11, Mobile, "09012345678"),
			span("0990", 10, 10, Premium, "0990123456"),
			span("010", 6, 0, International, "01033144556677"),
		},
	)},
	"it": {Country: "it", CountryCode: "39", Trunk: "", Rules: join(
		[]Rule{exact("112", Emergency), exact("113", Emergency), exact("115", Emergency), exact("118", Emergency)},
		[]Rule{
			span("0", 6, 11, National, "0612345678"),
			span("3", 9, 10, Mobile, "3123456789"),
			span("89", 6, 10, Premium, "899123456"),
			span("12", 4, 4, Premium, "1254"),
			span("00", 5, 0, International, "0033144556677"),
		},
	)},
	"es": {Country: "es", CountryCode: "34", Trunk: "", Rules: join(
		[]Rule{exact("112", Emergency), exact("091", Emergency), exact("092", Emergency), exact("061", Emergency),
			exact("062", Emergency), exact("080", Emergency), exact("085", Emergency)},
		each([]string{"8", "9"}, 9, 9, National),
		each([]string{"6", "7"}, 9, 9, Mobile),
		each([]string{"803", "806", "807", "905"}, 9, 9, Premium),
		[]Rule{
			span("118", 5, 5, Premium, "11822"),
			span("00", 5, 0, International, "0033144556677"),
		},
	)},
}
