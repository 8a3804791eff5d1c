"""The demo shop's catalogue: products built from a few word lists, the same for every seed."""

from __future__ import annotations

from dataclasses import dataclass

# category -> (sku prefix, [(product kind, base price in cents, description)])
CATALOGUE: dict[str, tuple[str, list[tuple[str, int, str]]]] = {
    "electronics": ("EL", [
        ("Wireless Headphones", 7900, "Over-ear, noise cancelling, 30 h battery."),
        ("Bluetooth Speaker", 4900, "Waterproof speaker with deep bass, 12 h battery."),
        ("USB-C Fast Charger", 2500, "65 W charger for phones and laptops."),
        ("Smartwatch", 14900, "Heart rate, GPS and sleep tracking."),
        ("E-Reader", 11900, "Glare-free 6 inch screen, weeks of battery."),
        ("Mechanical Keyboard", 8900, "Hot-swappable switches, backlit keys."),
        ("Wireless Mouse", 2900, "Silent clicks, two-year battery."),
        ("HD Webcam", 5900, "1080p webcam with stereo microphones."),
        ("Power Bank", 3500, "20,000 mAh, charges two devices at once."),
    ]),
    "home & kitchen": ("HK", [
        ("Coffee Grinder", 4500, "Conical burr grinder with 18 settings."),
        ("Electric Kettle", 3900, "1.7 l, temperature control, keeps warm."),
        ("Frying Pan", 3400, "28 cm non-stick pan, works on induction."),
        ("Chef Knife", 5900, "20 cm forged steel chef's knife."),
        ("Blender", 6900, "1,000 W blender for smoothies and soups."),
        ("Mug Set", 2400, "Four stoneware mugs, dishwasher safe."),
        ("Storage Jars", 1900, "Set of six airtight glass jars."),
        ("Table Lamp", 4400, "Dimmable LED lamp with linen shade."),
        ("Throw Cushion", 2200, "Soft cushion with removable cover."),
    ]),
    "fashion": ("FA", [
        ("Organic T-Shirt", 1900, "Organic cotton, regular fit."),
        ("Slim Jeans", 5900, "Stretch denim, slim fit."),
        ("Rain Jacket", 8900, "Waterproof, breathable, packable hood."),
        ("Canvas Sneakers", 4900, "Classic low-top sneakers."),
        ("Wool Scarf", 2900, "Merino wool scarf, 180 cm."),
        ("Knit Sweater", 6400, "Chunky knit, crew neck."),
        ("Hoodie", 4400, "Brushed fleece hoodie with kangaroo pocket."),
        ("Leather Belt", 3400, "Full-grain leather, brass buckle."),
    ]),
    "beauty": ("BE", [
        ("Face Cream", 2600, "Daily moisturiser for all skin types."),
        ("Shampoo", 1200, "Sulphate-free shampoo, 250 ml."),
        ("Eau de Parfum", 6900, "Fresh citrus and cedar notes, 50 ml."),
        ("Sunscreen SPF 50", 1800, "Light, water-resistant sunscreen."),
        ("Hair Dryer", 5400, "Ionic dryer, three heat settings."),
        ("Lip Balm Set", 900, "Three tinted lip balms."),
        ("Beard Oil", 1500, "Argan and jojoba beard oil."),
    ]),
    "sports": ("SP", [
        ("Yoga Mat", 3200, "6 mm non-slip mat with carry strap."),
        ("Dumbbell Set", 7900, "Adjustable dumbbells, 2 to 20 kg."),
        ("Running Shoes", 9900, "Cushioned road running shoes."),
        ("Water Bottle", 1900, "Insulated steel bottle, 750 ml."),
        ("Resistance Bands", 2200, "Five bands from light to extra heavy."),
        ("Camping Tent", 12900, "Two-person tent, sets up in five minutes."),
        ("Cycling Gloves", 2400, "Padded fingerless gloves."),
    ]),
    "toys & games": ("TG", [
        ("Strategy Board Game", 3900, "For 2-5 players, about 60 minutes."),
        ("Jigsaw Puzzle", 1900, "1,000 pieces, landscape motif."),
        ("Building Blocks", 4900, "500 compatible bricks in a tub."),
        ("Plush Bear", 2200, "Soft bear, 35 cm, machine washable."),
        ("Remote Control Car", 5900, "Off-road RC car, 25 km/h."),
        ("Card Game", 1400, "Fast party card game for 3-8 players."),
    ]),
    "books": ("BK", [
        ("Vegetarian Cookbook", 2900, "120 weeknight recipes."),
        ("Thriller Novel", 1600, "A page-turner set in Lisbon."),
        ("City Travel Guide", 2200, "Maps, walks and where to eat."),
        ("Picture Book", 1400, "Bedtime story for ages 3-6."),
        ("Popular Science", 2400, "How the universe began, told simply."),
    ]),
    "garden": ("GA", [
        ("Garden Hose", 3400, "25 m kink-free hose with spray gun."),
        ("Pruning Shears", 2400, "Bypass pruner for branches up to 2 cm."),
        ("Ceramic Planter", 2900, "Glazed planter with drainage hole, 30 cm."),
        ("Herb Seed Kit", 1500, "Basil, parsley, chives and coriander."),
        ("Solar Garden Lights", 3900, "Set of eight warm-white stake lights."),
    ]),
}

BRANDS = ("Nordlys", "Kestrel", "Ambra", "Oakline", "Vela")
COLOURS = ("black", "white", "blue", "green", "grey", "red")


@dataclass(frozen=True)
class ProductSeed:
    sku: str
    name: str
    category: str
    price_cents: int
    stock: int
    description: str
    attributes: dict


def build_catalogue(variants_per_kind: int = 3) -> list[ProductSeed]:
    """Every kind in ``variants_per_kind`` brand/colour variants, prices varying by brand."""
    products: list[ProductSeed] = []
    for category, (prefix, kinds) in CATALOGUE.items():
        number = 0
        for kind_index, (kind, base_price, description) in enumerate(kinds):
            for variant in range(variants_per_kind):
                number += 1
                brand = BRANDS[(kind_index + variant) % len(BRANDS)]
                colour = COLOURS[(kind_index * 2 + variant) % len(COLOURS)]
                price = int(round(base_price * (0.85 + 0.15 * variant) / 10.0)) * 10 - 1
                stock = 0 if (kind_index + variant) % 11 == 5 else 5 + (kind_index * 7 + variant * 13) % 90
                products.append(ProductSeed(
                    sku=f"{prefix}-{number:04d}",
                    name=f"{brand} {kind} ({colour})",
                    category=category,
                    price_cents=price,
                    stock=stock,
                    description=description,
                    attributes={"brand": brand, "colour": colour, "kind": kind},
                ))
    return products
