"""The words shoppers use for sizes, colours, money, dates and countries: input of the spaCy pipeline.

Plain data, lower case (the entity ruler compares lower-cased tokens). Products and categories come
from the catalogue (:mod:`crm_store.seed_catalogue`); everything else a shop's customers name is here.
Changing anything in this module changes the pipeline's build digest, so the next training rebuilds
it (:func:`bot.nlu.spacy_pipeline.build_digest`).
"""

from __future__ import annotations

# Categories as shoppers say them, beside the catalogue's own names ("toys & games").
CATEGORY_WORDS = ("electronics", "electronic", "gadgets", "kitchen", "home and kitchen", "homeware",
                  "clothes", "clothing", "apparel", "fashion", "beauty", "cosmetics", "skincare", "skin care",
                  "sport", "sports", "fitness", "outdoor", "toys", "toy", "games", "toys and games", "books",
                  "garden", "gardening")

# Product words shoppers use for the kinds the catalogue sells, beside the kinds' own names.
PRODUCT_WORDS = ("shoes", "shoe", "sneakers", "sneaker", "trainers", "tshirt", "t shirt", "tee", "shirt",
                 "jumper", "pullover", "earphones", "earbuds", "headset", "phone charger", "ebook reader",
                 "kindle", "laptop charger", "raincoat", "smart watch", "perfume", "sun cream", "sunblock",
                 "teddy", "teddy bear", "lego", "puzzle", "board game", "secateurs", "plant pot", "flower pot")

SIZE_LETTERS = ("xxs", "xs", "xl", "xxl", "xxxl", "2xl", "3xl", "4xl")
# Single letters are sizes only with a cue ("size m", "in an L"): alone they are words ("i'm", "s").
SIZE_SINGLE = ("s", "m", "l")
SIZE_WORDS = ("small", "medium", "large", "extra small", "extra large", "x large", "x-large", "petite",
              "regular", "one size", "plus size")
SIZE_CHANGE = ("bigger", "smaller", "larger", "next", "wider", "narrower", "longer", "shorter", "different")
SIZE_SYSTEMS = ("eu", "uk", "us", "euro", "it", "fr")

COLOURS = ("black", "white", "blue", "green", "grey", "gray", "red", "navy", "navy blue", "pink", "yellow",
           "orange", "purple", "violet", "brown", "beige", "tan", "khaki", "olive", "olive green", "maroon",
           "burgundy", "turquoise", "teal", "silver", "gold", "golden", "ivory", "charcoal", "mint",
           "lilac", "coral", "multicolour", "multicolor", "multicoloured", "multicolored", "off white",
           "off-white", "dark blue", "light blue", "sky blue", "royal blue", "dark green", "light green",
           "dark grey", "light grey", "dark gray", "light gray", "dark red", "wine red", "rose gold")

CURRENCY_WORDS = ("euro", "euros", "eur", "dollar", "dollars", "usd", "bucks", "pound", "pounds", "quid",
                  "gbp", "rupee", "rupees", "rs", "inr", "rs.", "cents", "franc", "francs", "chf")
CURRENCY_SYMBOLS = ("€", "$", "£", "₹")
# An upper limit on the price: "under 30 euros", "below €50", "less than 20".
PRICE_LIMITS = ("under", "below", "less than", "lower than", "cheaper than", "not more than", "no more than",
                "max", "maximum", "at most", "up to", "upto", "within", "budget", "budget of",
                "budget is", "not over", "not above", "tops")

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Short forms are dates only after "last", "this", ... ("sun" alone is in "sun cream").
WEEKDAYS_SHORT = ("mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
          "sept", "oct", "nov", "dec")
# Months that are also common words need a day number beside them ("may 3"), never alone.
MONTHS_NEEDING_A_DAY = ("may", "mar", "jan", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
                        "feb", "apr")
DAY_WORDS = ("today", "yesterday", "tomorrow", "tonight", "day before yesterday", "the day before yesterday",
             "this morning", "last night", "yesterday evening", "yesterday morning", "the other day",
             "a while ago", "recently", "earlier today", "last few days", "past few days")
RELATIVE = ("last", "this", "next", "past", "previous", "coming")
PERIODS = ("week", "month", "year", "weekend", "fortnight")
PERIOD_UNITS = ("day", "days", "week", "weeks", "month", "months", "hour", "hours", "year", "years")
NUMBER_WORDS = ("a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "fifteen", "twenty", "thirty", "a few", "few", "several", "couple of",
                "a couple of", "couple")

# Every UN member and observer state, as written in English, plus other places shops ship to.
COUNTRIES = (
    "afghanistan", "albania", "algeria", "andorra", "angola", "antigua and barbuda", "argentina", "armenia",
    "australia", "austria", "azerbaijan", "bahamas", "bahrain", "bangladesh", "barbados", "belarus",
    "belgium", "belize", "benin", "bhutan", "bolivia", "bosnia and herzegovina", "bosnia", "botswana",
    "brazil", "brunei", "bulgaria", "burkina faso", "burundi", "cabo verde", "cape verde", "cambodia",
    "cameroon", "canada", "central african republic", "chad", "chile", "china", "colombia", "comoros",
    "congo", "democratic republic of the congo", "costa rica", "cote d'ivoire", "ivory coast", "croatia",
    "cuba", "cyprus", "czech republic", "czechia", "denmark", "djibouti", "dominica", "dominican republic",
    "ecuador", "egypt", "el salvador", "equatorial guinea", "eritrea", "estonia", "eswatini", "swaziland",
    "ethiopia", "fiji", "finland", "france", "gabon", "gambia", "georgia", "germany", "ghana", "greece",
    "grenada", "guatemala", "guinea", "guinea-bissau", "guyana", "haiti", "honduras", "hungary", "iceland",
    "india", "indonesia", "iran", "iraq", "ireland", "israel", "italy", "jamaica", "japan", "jordan",
    "kazakhstan", "kenya", "kiribati", "kuwait", "kyrgyzstan", "laos", "latvia", "lebanon", "lesotho",
    "liberia", "libya", "liechtenstein", "lithuania", "luxembourg", "madagascar", "malawi", "malaysia",
    "maldives", "mali", "malta", "marshall islands", "mauritania", "mauritius", "mexico", "micronesia",
    "moldova", "monaco", "mongolia", "montenegro", "morocco", "mozambique", "myanmar", "burma", "namibia",
    "nauru", "nepal", "netherlands", "the netherlands", "new zealand", "nicaragua", "niger", "nigeria",
    "north korea", "north macedonia", "macedonia", "norway", "oman", "pakistan", "palau", "palestine",
    "panama", "papua new guinea", "paraguay", "peru", "philippines", "poland", "portugal", "qatar",
    "romania", "russia", "rwanda", "saint kitts and nevis", "saint lucia", "saint vincent and the grenadines",
    "samoa", "san marino", "sao tome and principe", "saudi arabia", "senegal", "serbia", "seychelles",
    "sierra leone", "singapore", "slovakia", "slovenia", "solomon islands", "somalia", "south africa",
    "south korea", "korea", "south sudan", "spain", "sri lanka", "sudan", "suriname", "sweden",
    "switzerland", "syria", "taiwan", "tajikistan", "tanzania", "thailand", "timor-leste", "east timor",
    "togo", "tonga", "trinidad and tobago", "tunisia", "turkey", "turkiye", "turkmenistan", "tuvalu",
    "uganda", "ukraine", "united arab emirates", "united kingdom", "united states", "united states of america",
    "uruguay", "uzbekistan", "vanuatu", "vatican",
    "venezuela", "vietnam", "viet nam", "yemen", "zambia", "zimbabwe",
    # Parts and places customers name as where they live.
    "england", "scotland", "wales", "northern ireland", "great britain", "britain", "hong kong", "macau",
    "puerto rico", "greenland", "faroe islands", "gibraltar", "guernsey", "isle of man",
    "canary islands", "reunion", "martinique", "guadeloupe", "new caledonia", "aruba", "curacao",
    "bermuda", "cayman islands", "holland", "america", "the states", "emirates", "dubai",
)
# Short forms: lower case is enough where the letters are no English word ("uk", "usa", "uae").
COUNTRY_SHORT = ("uk", "u.k.", "u.k", "usa", "u.s.a.", "u.s.a", "uae", "u.a.e.", "nz", "rsa", "prc", "ksa",
                 "drc", "gb")
# Written in capitals only: in lower case these are words ("us", "in", "it").
COUNTRY_UPPER = ("US", "U.S.", "UAE", "USA", "UK")

# Who a gift is for and what it is for ("a gift for my mum", "for a birthday"): recommendations.
RECIPIENTS = ("mum", "mom", "mummy", "mother", "dad", "daddy", "father", "parents", "wife", "husband", "partner",
              "girlfriend", "boyfriend", "fiance", "fiancee", "son", "daughter", "kids", "kid", "child", "children",
              "baby", "toddler", "teenager", "grandma", "grandmother", "granny", "nan", "grandpa", "grandfather",
              "grandparents", "sister", "brother", "friend", "best friend", "colleague", "boss", "teacher",
              "aunt", "uncle", "niece", "nephew", "neighbour", "neighbor")
OCCASIONS = ("birthday", "bday", "christmas", "xmas", "anniversary", "wedding", "valentine's day", "valentines day",
             "valentines", "mother's day", "mothers day", "father's day", "fathers day", "graduation",
             "housewarming", "baby shower", "retirement", "easter", "new year", "secret santa", "diwali", "eid",
             "hanukkah")
