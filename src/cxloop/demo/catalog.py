"""The demo store's catalog: 500 products in French, with English translations.

Clothing, shoes, accessories and home goods are made from templates (a noun, a material and
a colour, with French agreement of the colour); toys and children's books from a list of
titles. Each product gets a price, sizes, a brand, a GTIN in the in-store range (prefix 200,
never a real article) and an inline SVG placeholder image drawn in its colour.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np

from cxloop.assistant import CatalogItem

CATALOG_SIZE = 500
UNIVERSES = ("women", "men", "kids", "home")
STORE_URL = "https://boutique.example.com"


@dataclass(frozen=True)
class Colour:
    """A colour: French forms (m. sing., f. sing., m. plural, f. plural), English, hex."""

    fr: tuple[str, str, str, str]
    en: str
    hex: str


def _invariable(word: str) -> tuple[str, str, str, str]:
    return (word, word, word, word)


COLOURS: dict[str, Colour] = {
    "blanc": Colour(("blanc", "blanche", "blancs", "blanches"), "white", "#f4f2ec"),
    "noir": Colour(("noir", "noire", "noirs", "noires"), "black", "#232323"),
    "anthracite": Colour(_invariable("gris anthracite"), "charcoal grey", "#3c4047"),
    "marine": Colour(_invariable("bleu marine"), "navy", "#1f2a48"),
    "ciel": Colour(_invariable("bleu ciel"), "sky blue", "#8fc3e6"),
    "brut": Colour(_invariable("bleu brut"), "raw indigo", "#27385e"),
    "delave": Colour(_invariable("bleu délavé"), "light-wash blue", "#7d9cc0"),
    "rouge": Colour(("rouge", "rouge", "rouges", "rouges"), "red", "#b8322a"),
    "sapin": Colour(_invariable("vert sapin"), "forest green", "#1f5a3c"),
    "vert_eau": Colour(_invariable("vert d'eau"), "seafoam green", "#a9d6c4"),
    "beige": Colour(("beige", "beige", "beiges", "beiges"), "beige", "#d9c8a9"),
    "ecru": Colour(("écru", "écrue", "écrus", "écrues"), "ecru", "#eee4cf"),
    "naturel": Colour(("naturel", "naturelle", "naturels", "naturelles"), "natural", "#cfb58a"),
    "camel": Colour(_invariable("camel"), "camel", "#b4834f"),
    "moutarde": Colour(_invariable("moutarde"), "mustard", "#d09a1c"),
    "bordeaux": Colour(_invariable("bordeaux"), "burgundy", "#6b1c35"),
    "rose": Colour(_invariable("rose poudré"), "dusty pink", "#e3b4ae"),
    "terracotta": Colour(_invariable("terracotta"), "terracotta", "#c0603e"),
    "kaki": Colour(_invariable("kaki"), "khaki", "#6f6b45"),
    "jaune": Colour(("jaune", "jaune", "jaunes", "jaunes"), "yellow", "#f1c232"),
    "marron": Colour(_invariable("marron"), "brown", "#6a4128"),
    "lavande": Colour(_invariable("lavande"), "lavender", "#a99bc9"),
}


@dataclass(frozen=True)
class Material:
    """A material as it reads in a title (« en laine mérinos ») and in a description."""

    fr: str
    en: str
    note_fr: str
    note_en: str


MATERIALS: dict[str, Material] = {
    "merinos": Material(
        "laine mérinos",
        "merino wool",
        "La laine mérinos, fine et respirante, tient chaud sans gratter.",
        "Fine, breathable merino wool keeps you warm without itching.",
    ),
    "cachemire": Material(
        "cachemire",
        "cashmere",
        "Un cachemire d'une grande douceur, léger et chaud à la fois.",
        "Beautifully soft cashmere, light and warm at once.",
    ),
    "laine": Material(
        "laine",
        "wool",
        "Une laine dense et chaleureuse, faite pour durer.",
        "Dense, warm wool made to last.",
    ),
    "laine_bouillie": Material(
        "laine bouillie",
        "boiled wool",
        "La laine bouillie, compacte et coupe-vent, garde bien la chaleur.",
        "Compact, windproof boiled wool holds the warmth in.",
    ),
    "alpaga": Material(
        "laine d'alpaga",
        "alpaca wool",
        "La laine d'alpaga est légère, soyeuse et très chaude.",
        "Alpaca wool is light, silky and very warm.",
    ),
    "coton_bio": Material(
        "coton bio",
        "organic cotton",
        "Coton issu de l'agriculture biologique, certifié GOTS.",
        "GOTS-certified organic cotton.",
    ),
    "molleton": Material(
        "molleton de coton",
        "cotton fleece",
        "Un molleton de coton gratté à l'intérieur, tout doux.",
        "Cotton fleece, brushed on the inside for softness.",
    ),
    "flanelle": Material(
        "flanelle de coton",
        "cotton flannel",
        "Une flanelle de coton chaude et moelleuse.",
        "Warm, cosy cotton flannel.",
    ),
    "gaze": Material(
        "gaze de coton",
        "cotton gauze",
        "La double gaze de coton, légère et froissée, respire bien.",
        "Light, crinkled double cotton gauze that breathes.",
    ),
    "lin": Material(
        "lin",
        "linen",
        "Le lin, frais et naturellement texturé, s'assouplit au fil des lavages.",
        "Cool, naturally textured linen that softens wash after wash.",
    ),
    "lin_lave": Material(
        "lin lavé",
        "washed linen",
        "Un lin lavé à la pierre, souple dès le premier jour.",
        "Stone-washed linen, soft from the very first day.",
    ),
    "viscose": Material(
        "viscose",
        "viscose",
        "Une viscose fluide au tombé léger.",
        "Fluid viscose with a light drape.",
    ),
    "soie": Material(
        "soie",
        "silk",
        "Une soie lavée au toucher doux et mat.",
        "Washed silk with a soft, matt feel.",
    ),
    "denim": Material(
        "denim bio",
        "organic denim",
        "Un denim robuste en coton biologique, qui se patine joliment.",
        "Sturdy organic cotton denim that fades beautifully.",
    ),
    "velours": Material(
        "velours côtelé",
        "corduroy",
        "Un velours côtelé épais, doux et résistant.",
        "Thick, soft and hard-wearing corduroy.",
    ),
    "velours_ras": Material(
        "velours",
        "velvet",
        "Un velours ras aux reflets profonds.",
        "Short-pile velvet with a deep sheen.",
    ),
    "toile": Material(
        "toile",
        "canvas",
        "Une toile de coton épaisse et résistante.",
        "Thick, hard-wearing cotton canvas.",
    ),
    "coton_deperlant": Material(
        "coton déperlant",
        "water-repellent cotton",
        "Un coton serré et déperlant, qui protège des averses.",
        "Tightly woven, water-repellent cotton that keeps showers out.",
    ),
    "nylon": Material(
        "nylon recyclé",
        "recycled nylon",
        "Un nylon recyclé léger, garni d'un rembourrage chaud.",
        "Light recycled nylon with a warm padding.",
    ),
    "cuir": Material(
        "cuir",
        "leather",
        "Un cuir pleine fleur tanné sans chrome.",
        "Chrome-free tanned full-grain leather.",
    ),
    "daim": Material(
        "daim",
        "suede",
        "Un daim velouté, traité contre les taches.",
        "Velvety suede, treated against stains.",
    ),
    "feutre": Material(
        "feutre de laine",
        "wool felt",
        "Un feutre de laine épais qui garde les pieds au chaud.",
        "Thick wool felt that keeps feet warm.",
    ),
    "percale": Material(
        "percale de coton",
        "cotton percale",
        "Une percale de coton 80 fils/cm², fraîche et lisse.",
        "Cool, smooth 80-thread cotton percale.",
    ),
    "eponge": Material(
        "éponge de coton bio",
        "organic cotton terry",
        "Une éponge bouclée épaisse et très absorbante.",
        "Thick, highly absorbent looped terry.",
    ),
    "gres": Material(
        "grès",
        "stoneware",
        "Un grès émaillé à la main : chaque pièce est unique.",
        "Hand-glazed stoneware: every piece is unique.",
    ),
    "porcelaine": Material(
        "porcelaine",
        "porcelain",
        "Une porcelaine fine, passe au lave-vaisselle.",
        "Fine porcelain, dishwasher safe.",
    ),
    "fonte": Material(
        "fonte émaillée",
        "enamelled cast iron",
        "La fonte émaillée garde le thé chaud longtemps.",
        "Enamelled cast iron keeps tea hot for longer.",
    ),
    "verre": Material(
        "verre soufflé",
        "blown glass",
        "Un verre soufflé bouche aux légères bulles d'air.",
        "Mouth-blown glass with delicate air bubbles.",
    ),
    "olivier": Material(
        "bois d'olivier",
        "olive wood",
        "Un bois d'olivier massif au veinage marqué.",
        "Solid olive wood with a strong grain.",
    ),
    "chene": Material(
        "chêne",
        "oak",
        "Un chêne massif issu de forêts gérées durablement.",
        "Solid oak from sustainably managed forests.",
    ),
    "laiton": Material(
        "laiton",
        "brass",
        "Un laiton brossé à la patine douce.",
        "Brushed brass with a soft patina.",
    ),
    "rotin": Material(
        "rotin",
        "rattan",
        "Un rotin tressé à la main.",
        "Hand-woven rattan.",
    ),
    "jonc": Material(
        "jonc de mer",
        "seagrass",
        "Un jonc de mer tressé, naturel et solide.",
        "Natural, sturdy woven seagrass.",
    ),
    "soja": Material(
        "cire de soja",
        "soy wax",
        "Une cire de soja végétale, avec une mèche en coton.",
        "Plant-based soy wax with a cotton wick.",
    ),
}


@dataclass(frozen=True)
class Category:
    """A catalog category: labels, SKU code, placeholder shape and how many products."""

    key: str
    code: str
    fr: str
    en: str
    quota: int
    shape: str
    brands: tuple[str, ...]


FASHION = ("Maison Sauge", "Atelier Colombe", "Les Filles du Vent", "Nord Sud", "Hirondelle")
MENSWEAR = ("Le Marin Tranquille", "Nord Sud", "Atelier Colombe", "Maison Sauge")
SHOEMAKERS = ("Pas de Loup", "Semelle & Co", "Hirondelle")
KIDSWEAR = ("Petit Lutin", "Les Mômes", "Graine de Pomme")
HOMEWARE = ("Maison Lierre", "Grès & Lin", "Atelier du Dimanche")
TOYMAKERS = ("Bois Joli", "Les Petits Curieux", "Petit Lutin")
PUBLISHERS = ("Éditions Luciole", "Éditions du Petit Phare", "Éditions Cerf-Volant")

CATEGORIES: tuple[Category, ...] = (
    Category("robes", "ROB", "Robes", "Dresses", 35, "dress", FASHION),
    Category("hauts", "HAU", "Hauts et t-shirts", "Tops & T-shirts", 40, "top", FASHION),
    Category("chemises", "CHE", "Chemises", "Shirts", 25, "top", FASHION + MENSWEAR),
    Category("mailles", "MAI", "Pulls et gilets", "Jumpers & cardigans", 45, "top", FASHION),
    Category("bas", "BAS", "Pantalons et jupes", "Trousers & skirts", 35, "trousers", FASHION),
    Category("manteaux", "MAN", "Manteaux et vestes", "Coats & jackets", 25, "coat", FASHION),
    Category("chaussures", "CHA", "Chaussures", "Shoes", 45, "shoe", SHOEMAKERS),
    Category("accessoires", "ACC", "Accessoires", "Accessories", 35, "bag", FASHION),
    Category("enfant", "ENF", "Mode enfant", "Kids' clothing", 50, "top", KIDSWEAR),
    Category("jouets", "JOU", "Jouets", "Toys", 40, "toy", TOYMAKERS),
    Category("livres", "LIV", "Livres jeunesse", "Children's books", 40, "book", PUBLISHERS),
    Category("linge", "LIN", "Linge de maison", "Home linen", 30, "linen", HOMEWARE),
    Category("deco", "DEC", "Décoration", "Home decor", 30, "vase", HOMEWARE),
    Category("cuisine", "CUI", "Cuisine et table", "Kitchen & dining", 25, "mug", HOMEWARE),
)

ALPHA = ("XS", "S", "M", "L", "XL")
ALPHA_MEN = ("S", "M", "L", "XL", "XXL")
WOMEN_NUM = ("34", "36", "38", "40", "42", "44")
MEN_NUM = ("38", "40", "42", "44", "46", "48")
SHOES_WOMEN = ("36", "37", "38", "39", "40", "41")
SHOES_MEN = ("40", "41", "42", "43", "44", "45", "46")
SHOES_MIXED = ("36", "37", "38", "39", "40", "41", "42", "43", "44", "45")
SHOES_KIDS = ("24", "26", "28", "30", "32", "34")
KIDS = ("2 ans", "4 ans", "6 ans", "8 ans", "10 ans", "12 ans")
BABY = ("1 mois", "3 mois", "6 mois", "12 mois", "18 mois", "24 mois")
SLEEPING_BAG = ("0-6 mois", "6-18 mois", "18-36 mois")
BED = ("140 x 200", "200 x 200", "240 x 220")
PILLOW = ("50 x 70", "65 x 65")
CUSHION = ("40 x 40", "45 x 45")
TABLECLOTH = ("150 x 150", "150 x 250")
TOWEL = ("50 x 100", "70 x 140")

WARM = ("noir", "anthracite", "marine", "camel", "bordeaux", "ecru", "sapin", "moutarde")
BRIGHT = ("blanc", "noir", "marine", "rouge", "moutarde", "sapin", "terracotta", "rose")
LIGHT = ("blanc", "ciel", "ecru", "beige", "kaki", "terracotta", "vert_eau")
HOME = ("blanc", "ecru", "terracotta", "sapin", "moutarde", "anthracite", "vert_eau", "rose")
KIDS_COLOURS = ("marine", "rouge", "jaune", "vert_eau", "rose", "moutarde", "ciel", "ecru")


@dataclass(frozen=True)
class Template:
    """A product family: « Pull col rond » in several materials and colours."""

    category: str
    fr: str
    en: str
    feminine: bool
    plural: bool
    universe: str
    gender: str | None
    age_group: str
    price: tuple[int, int]
    sizes: tuple[str, ...]
    materials: tuple[str, ...]
    colours: tuple[str, ...]
    desc_fr: str
    desc_en: str


def _t(
    category: str,
    fr: str,
    en: str,
    grammar: str,
    universe: str,
    gender: str | None,
    price: tuple[int, int],
    sizes: tuple[str, ...],
    materials: tuple[str, ...],
    colours: tuple[str, ...],
    desc: tuple[str, str],
    age_group: str = "adult",
) -> Template:
    # grammar is "m", "f", "mpl" or "fpl": the French noun's gender and number.
    return Template(
        category,
        fr,
        en,
        grammar.startswith("f"),
        grammar.endswith("pl"),
        universe,
        gender,
        age_group,
        price,
        sizes,
        materials,
        colours,
        desc[0],
        desc[1],
    )


# fmt: off
TEMPLATES: tuple[Template, ...] = (
    # Robes
    _t("robes", "Robe portefeuille", "wrap dress", "f", "women", "female", (49, 89), WOMEN_NUM,
       ("viscose", "lin", "coton_bio"), BRIGHT,
       ("Une robe portefeuille nouée à la taille, au décolleté en V et aux manches trois-quarts.",
        "A wrap dress that ties at the waist, with a V-neck and three-quarter sleeves.")),
    _t("robes", "Robe chemise", "shirt dress", "f", "women", "female", (59, 95), WOMEN_NUM,
       ("lin", "coton_bio"), LIGHT,
       ("Une robe chemise boutonnée sur le devant, à porter ceinturée ou ample.",
        "A button-through shirt dress to wear belted or loose.")),
    _t("robes", "Robe pull", "jumper dress", "f", "women", "female", (69, 129), ALPHA,
       ("merinos", "coton_bio"), WARM,
       ("Une robe en maille côtelée, confortable et chaude pour l'hiver.",
        "A ribbed knit dress, cosy and warm for winter.")),
    _t("robes", "Robe longue à volants", "ruffled maxi dress", "f", "women", "female", (59, 99),
       WOMEN_NUM, ("viscose", "gaze"), BRIGHT,
       ("Une robe longue, fluide et légère, terminée par un volant.",
        "A light, flowing maxi dress finished with a ruffled hem.")),
    # Hauts
    _t("hauts", "T-shirt col V", "V-neck T-shirt", "m", "women", "female", (19, 35), ALPHA,
       ("coton_bio", "lin"), BRIGHT,
       ("Un t-shirt essentiel au col V, coupe droite et manches courtes.",
        "An essential V-neck T-shirt with a straight cut and short sleeves.")),
    _t("hauts", "Blouse brodée", "embroidered blouse", "f", "women", "female", (39, 65), ALPHA,
       ("coton_bio", "gaze", "viscose"), LIGHT,
       ("Une blouse brodée à la main au col, avec des manches légèrement bouffantes.",
        "A blouse hand-embroidered at the collar, with softly puffed sleeves.")),
    _t("hauts", "Débardeur côtelé", "ribbed vest top", "m", "women", "female", (15, 25), ALPHA,
       ("coton_bio",), BRIGHT,
       ("Un débardeur en maille côtelée, près du corps, à superposer toute l'année.",
        "A close-fitting ribbed vest top to layer all year round.")),
    _t("hauts", "Marinière", "Breton striped top", "f", "women", "unisex", (35, 55), ALPHA,
       ("coton_bio",), ("marine", "rouge", "noir", "sapin"),
       ("La marinière à rayures, col bateau et manches longues, un classique de la côte.",
        "The striped Breton top with a boat neck and long sleeves, a seaside classic.")),
    _t("hauts", "T-shirt col rond", "crew-neck T-shirt", "m", "men", "male", (19, 35), ALPHA_MEN,
       ("coton_bio",), ("blanc", "noir", "marine", "anthracite", "kaki", "sapin"),
       ("Un t-shirt au col rond côtelé, en jersey épais qui garde sa forme.",
        "A crew-neck T-shirt in a heavy jersey that keeps its shape.")),
    _t("hauts", "Polo manches courtes", "short-sleeved polo shirt", "m", "men", "male", (35, 55),
       ALPHA_MEN, ("coton_bio",), ("blanc", "marine", "sapin", "bordeaux", "ciel"),
       ("Un polo en maille piquée, col à deux boutons.",
        "A piqué knit polo shirt with a two-button placket.")),
    _t("hauts", "Sweat à capuche", "hoodie", "m", "men", "unisex", (45, 75), ALPHA_MEN,
       ("molleton",), ("anthracite", "marine", "kaki", "ecru", "bordeaux"),
       ("Un sweat à capuche avec poche kangourou et bords côtes.",
        "A hoodie with a kangaroo pocket and ribbed trims.")),
    # Chemises
    _t("chemises", "Chemise oxford", "Oxford shirt", "f", "men", "male", (49, 69), ALPHA_MEN,
       ("coton_bio",), ("blanc", "ciel", "rose", "marine"),
       ("Une chemise au col boutonné, dans un tissage oxford qui se bonifie avec le temps.",
        "A button-down shirt in an Oxford weave that gets better with age.")),
    _t("chemises", "Chemise col mao", "grandad-collar shirt", "f", "men", "male", (49, 75),
       ALPHA_MEN, ("lin",), ("blanc", "ciel", "kaki", "terracotta", "ecru"),
       ("Une chemise au col officier, légère et décontractée pour l'été.",
        "A band-collar shirt, light and relaxed for summer.")),
    _t("chemises", "Chemise à carreaux", "check shirt", "f", "men", "male", (45, 65), ALPHA_MEN,
       ("flanelle",), ("rouge", "sapin", "marine", "moutarde"),
       ("Une chemise à carreaux chaude, avec deux poches poitrine.",
        "A warm check shirt with two chest pockets.")),
    _t("chemises", "Chemisier fluide", "flowing blouse", "m", "women", "female", (45, 89),
       WOMEN_NUM, ("viscose", "soie"), ("blanc", "noir", "rose", "bordeaux", "vert_eau"),
       ("Un chemisier fluide au col lavallière, à rentrer ou à porter ouvert.",
        "A flowing blouse with a pussy-bow collar, tucked in or worn open.")),
    _t("chemises", "Surchemise", "overshirt", "f", "men", "male", (69, 99), ALPHA_MEN,
       ("velours", "laine_bouillie"), ("camel", "kaki", "marine", "marron"),
       ("Une surchemise épaisse, entre la chemise et la veste, pour la mi-saison.",
        "A heavy overshirt, between a shirt and a jacket, for in-between seasons.")),
    # Pulls et gilets
    _t("mailles", "Pull col rond", "crew-neck jumper", "m", "women", "female", (59, 139), ALPHA,
       ("merinos", "cachemire", "coton_bio"), WARM,
       ("Un pull col rond intemporel, à la maille douce et régulière.",
        "A timeless crew-neck jumper with a soft, even knit.")),
    _t("mailles", "Pull col roulé", "roll-neck jumper", "m", "women", "female", (69, 149), ALPHA,
       ("merinos", "cachemire"), WARM,
       ("Un col roulé fin et ajusté, idéal sous une veste.",
        "A fine, fitted roll-neck, ideal under a jacket.")),
    _t("mailles", "Gilet boutonné", "button-up cardigan", "m", "women", "female", (59, 119),
       ALPHA, ("merinos", "alpaga", "coton_bio"), WARM,
       ("Un gilet au col V, boutonné sur le devant, avec deux poches plaquées.",
        "A V-neck cardigan with a buttoned front and two patch pockets.")),
    _t("mailles", "Pull camionneur", "half-zip jumper", "m", "men", "male", (69, 119), ALPHA_MEN,
       ("merinos", "coton_bio"), WARM,
       ("Un pull à col zippé, confortable et structuré.",
        "A half-zip jumper, comfortable and structured.")),
    _t("mailles", "Pull marin", "fisherman jumper", "m", "men", "unisex", (79, 129), ALPHA_MEN,
       ("laine",), ("ecru", "marine", "anthracite", "sapin"),
       ("Un pull marin en grosse maille torsadée, boutonné à l'épaule.",
        "A chunky cable-knit fisherman jumper, buttoned at the shoulder.")),
    # Pantalons et jupes
    _t("bas", "Jean droit", "straight-leg jeans", "m", "women", "female", (69, 99), WOMEN_NUM,
       ("denim",), ("brut", "delave", "noir"),
       ("Un jean taille haute à la jambe droite, cinq poches.",
        "High-waisted straight-leg jeans with five pockets.")),
    _t("bas", "Jean slim", "slim-fit jeans", "m", "men", "male", (69, 99), MEN_NUM,
       ("denim",), ("brut", "delave", "noir"),
       ("Un jean ajusté au bas étroit, légèrement stretch.",
        "Slim-fit jeans with a narrow leg and a little stretch.")),
    _t("bas", "Pantalon large", "wide-leg trousers", "m", "women", "female", (59, 95),
       WOMEN_NUM, ("lin", "velours", "laine"), ("noir", "camel", "ecru", "kaki", "marine"),
       ("Un pantalon taille haute à jambe large, avec plis sur le devant.",
        "High-waisted wide-leg trousers with front pleats.")),
    _t("bas", "Pantalon chino", "chinos", "m", "men", "male", (55, 85), MEN_NUM,
       ("coton_bio", "velours"), ("beige", "marine", "kaki", "camel", "anthracite"),
       ("Un chino coupe droite, à revers, pour tous les jours.",
        "Straight-cut turn-up chinos for every day.")),
    _t("bas", "Jupe midi", "midi skirt", "f", "women", "female", (45, 79), WOMEN_NUM,
       ("velours", "lin", "viscose"), BRIGHT,
       ("Une jupe mi-longue évasée, avec une ceinture élastiquée au dos.",
        "A flared midi skirt with an elasticated back waistband.")),
    # Manteaux et vestes
    _t("manteaux", "Manteau long", "long coat", "m", "women", "female", (129, 219), WOMEN_NUM,
       ("laine_bouillie", "laine"), ("camel", "noir", "anthracite", "bordeaux"),
       ("Un manteau long croisé, doublé, qui protège du froid sans alourdir.",
        "A lined, double-breasted long coat that keeps the cold out without weighing you down.")),
    _t("manteaux", "Caban", "pea coat", "m", "men", "male", (139, 199), ALPHA_MEN,
       ("laine",), ("marine", "noir", "anthracite"),
       ("Le caban croisé à boutons ancre, inspiré des vareuses de la marine.",
        "The double-breasted pea coat with anchor buttons, inspired by naval jackets.")),
    _t("manteaux", "Trench", "trench coat", "m", "women", "unisex", (119, 179), ALPHA,
       ("coton_deperlant",), ("beige", "kaki", "marine"),
       ("Un trench ceinturé, à double boutonnage, pour les demi-saisons.",
        "A belted double-breasted trench coat for spring and autumn.")),
    _t("manteaux", "Veste de travail", "work jacket", "f", "men", "male", (79, 119), ALPHA_MEN,
       ("toile", "velours"), ("kaki", "marine", "moutarde", "marron"),
       ("Une veste de travail à quatre poches, robuste et de plus en plus belle avec l'usure.",
        "A four-pocket work jacket, tough and better with every wear.")),
    _t("manteaux", "Doudoune légère", "lightweight puffer jacket", "f", "women", "unisex",
       (89, 149), ALPHA, ("nylon",), ("noir", "marine", "sapin", "bordeaux", "moutarde"),
       ("Une doudoune fine qui se range dans sa poche.",
        "A thin puffer jacket that packs into its own pocket.")),
    # Chaussures
    _t("chaussures", "Baskets", "trainers", "fpl", "women", "unisex", (49, 79), SHOES_MIXED,
       ("toile",), ("blanc", "noir", "marine", "ecru", "rouge"),
       ("Des baskets basses à semelle en caoutchouc naturel.",
        "Low-top trainers with a natural rubber sole.")),
    _t("chaussures", "Baskets", "trainers", "fpl", "women", "unisex", (89, 129), SHOES_MIXED,
       ("cuir",), ("blanc", "noir", "marine", "ecru"),
       ("Des baskets basses en cuir, doublées, à semelle en caoutchouc naturel.",
        "Lined low-top leather trainers with a natural rubber sole.")),
    _t("chaussures", "Bottines", "ankle boots", "fpl", "women", "female", (99, 159),
       SHOES_WOMEN, ("cuir", "daim"), ("noir", "camel", "marron", "bordeaux"),
       ("Des bottines à talon carré de 4 cm, avec zip intérieur.",
        "Ankle boots with a 4 cm block heel and an inside zip.")),
    _t("chaussures", "Mocassins", "loafers", "mpl", "men", "male", (89, 139), SHOES_MEN,
       ("cuir", "daim"), ("noir", "marron", "bordeaux", "camel"),
       ("Des mocassins souples cousus main, semelle en cuir.",
        "Soft hand-stitched loafers with a leather sole.")),
    _t("chaussures", "Derbies", "Derby shoes", "mpl", "men", "male", (99, 149), SHOES_MEN,
       ("cuir",), ("noir", "marron", "camel"),
       ("Des derbies à bout rond, montage Goodyear, ressemelables.",
        "Round-toe Derby shoes, Goodyear-welted and resoleable.")),
    _t("chaussures", "Espadrilles", "espadrilles", "fpl", "women", "unisex", (25, 39),
       SHOES_MIXED, ("toile", "lin"), ("marine", "rouge", "ecru", "jaune", "noir"),
       ("Des espadrilles à semelle en corde, fabriquées au Pays basque.",
        "Rope-soled espadrilles made in the Basque Country.")),
    _t("chaussures", "Sandales", "sandals", "fpl", "women", "female", (49, 89), SHOES_WOMEN,
       ("cuir",), ("camel", "noir", "naturel"),
       ("Des sandales plates à brides croisées.", "Flat sandals with crossed straps.")),
    _t("chaussures", "Chaussons", "slippers", "mpl", "home", "unisex", (29, 45), SHOES_MIXED,
       ("feutre", "laine_bouillie"), ("anthracite", "rouge", "ecru", "sapin"),
       ("Des chaussons chauds à semelle antidérapante.", "Warm slippers with a non-slip sole.")),
    _t("chaussures", "Chaussures à scratch", "hook-and-loop trainers", "fpl", "kids", "unisex",
       (35, 55), SHOES_KIDS, ("cuir", "toile"), KIDS_COLOURS,
       ("Des chaussures à scratch faciles à enfiler tout seul.",
        "Hook-and-loop trainers that children can put on by themselves."), "kids"),
    # Accessoires
    _t("accessoires", "Écharpe", "scarf", "f", "women", "unisex", (29, 99), (),
       ("merinos", "cachemire", "laine"), WARM,
       ("Une grande écharpe enveloppante, finie par des franges.",
        "A large, wrap-around scarf finished with fringes.")),
    _t("accessoires", "Bonnet", "beanie", "m", "men", "unisex", (25, 59), (),
       ("merinos", "cachemire"), WARM,
       ("Un bonnet côtelé à revers, chaud et doux.", "A warm, soft ribbed beanie with a cuff.")),
    _t("accessoires", "Ceinture", "belt", "f", "men", "unisex", (35, 59), ("80", "90", "100"),
       ("cuir",), ("noir", "marron", "camel"),
       ("Une ceinture à boucle en laiton, en cuir épais.",
        "A thick belt with a brass buckle.")),
    _t("accessoires", "Sac cabas", "tote bag", "m", "women", "female", (29, 149), (),
       ("toile", "cuir"), ("ecru", "noir", "camel", "marine"),
       ("Un grand cabas avec une poche intérieure zippée.",
        "A large tote with a zipped inside pocket.")),
    _t("accessoires", "Foulard", "square scarf", "m", "women", "female", (39, 69), (),
       ("soie",), ("rose", "bordeaux", "marine", "moutarde", "vert_eau"),
       ("Un carré imprimé aux bords roulottés main.",
        "A printed square scarf with hand-rolled edges.")),
    _t("accessoires", "Chaussettes", "socks", "fpl", "men", "unisex", (9, 19),
       ("35-38", "39-42", "43-46"), ("coton_bio", "merinos"), BRIGHT,
       ("Des chaussettes sans couture apparente, renforcées au talon.",
        "Socks with flat seams and reinforced heels.")),
    _t("accessoires", "Gants", "gloves", "mpl", "women", "unisex", (29, 69), ("S", "M", "L"),
       ("cuir", "laine"), ("noir", "camel", "bordeaux", "anthracite"),
       ("Des gants doublés, compatibles avec les écrans tactiles.",
        "Lined gloves that work with touch screens.")),
    # Mode enfant
    _t("enfant", "Body à manches longues", "long-sleeved bodysuit", "m", "kids", "unisex",
       (12, 19), BABY, ("coton_bio",), KIDS_COLOURS,
       ("Un body à ouverture croisée, tout doux pour la peau de bébé.",
        "A wrap-over bodysuit, gentle on baby's skin."), "infant"),
    _t("enfant", "Pyjama", "pyjamas", "m", "kids", "unisex", (22, 35), KIDS,
       ("coton_bio", "flanelle"), KIDS_COLOURS,
       ("Un pyjama deux pièces imprimé, avec poignets côtelés.",
        "Printed two-piece pyjamas with ribbed cuffs."), "kids"),
    _t("enfant", "Salopette", "dungarees", "f", "kids", "unisex", (35, 49), KIDS,
       ("velours", "denim"), KIDS_COLOURS,
       ("Une salopette à bretelles réglables et grande poche ventrale.",
        "Dungarees with adjustable straps and a big bib pocket."), "kids"),
    _t("enfant", "Sweat à capuche enfant", "kids' hoodie", "m", "kids", "unisex", (25, 39),
       KIDS, ("molleton",), KIDS_COLOURS,
       ("Un sweat à capuche tout doux pour la cour de récré.",
        "A soft hoodie for the playground."), "kids"),
    _t("enfant", "Robe à smocks", "smocked dress", "f", "kids", "female", (32, 49), KIDS,
       ("coton_bio", "gaze"), KIDS_COLOURS,
       ("Une robe à smocks brodés, légère et virevoltante.",
        "A light, twirly dress with embroidered smocking."), "kids"),
    _t("enfant", "Gigoteuse", "baby sleeping bag", "f", "kids", "unisex", (39, 59),
       SLEEPING_BAG, ("gaze", "coton_bio"), KIDS_COLOURS,
       ("Une gigoteuse sans manches pour des nuits sereines.",
        "A sleeveless baby sleeping bag for peaceful nights."), "infant"),
    _t("enfant", "Ciré", "kids' raincoat", "m", "kids", "unisex", (39, 55), KIDS,
       ("coton_deperlant",), ("jaune", "marine", "rouge"),
       ("Le ciré à capuche, doublé, pour sauter dans les flaques.",
        "The lined, hooded raincoat for jumping in puddles."), "kids"),
    # Linge de maison
    _t("linge", "Housse de couette", "duvet cover", "f", "home", None, (69, 159), BED,
       ("percale", "lin_lave", "gaze"), HOME,
       ("Une housse de couette fermée par des boutons, lavable à 60 °C.",
        "A button-fastened duvet cover, washable at 60 °C.")),
    _t("linge", "Taie d'oreiller", "pillowcase", "f", "home", None, (15, 35), PILLOW,
       ("percale", "lin_lave"), HOME,
       ("Une taie d'oreiller à rabat, assortie à nos housses de couette.",
        "A housewife pillowcase to match our duvet covers.")),
    _t("linge", "Plaid", "throw", "m", "home", None, (49, 99), ("130 x 170",),
       ("laine", "coton_bio", "alpaga"), HOME,
       ("Un plaid à franges, pour le canapé ou le pied du lit.",
        "A fringed throw for the sofa or the foot of the bed.")),
    _t("linge", "Serviette de bain", "bath towel", "f", "home", None, (15, 35), TOWEL,
       ("eponge",), HOME,
       ("Une serviette moelleuse de 500 g/m², qui sèche vite.",
        "A plush 500 gsm towel that dries quickly.")),
    _t("linge", "Nappe", "tablecloth", "f", "home", None, (45, 89), TABLECLOTH,
       ("lin_lave",), HOME,
       ("Une nappe au tombé généreux, pour les grandes tablées.",
        "A generously draped tablecloth for big family meals.")),
    # Décoration
    _t("deco", "Housse de coussin", "cushion cover", "f", "home", None, (19, 39), CUSHION,
       ("velours", "lin_lave", "velours_ras"), HOME,
       ("Une housse de coussin fermée par un zip invisible.",
        "A cushion cover with a hidden zip.")),
    _t("deco", "Vase", "vase", "m", "home", None, (25, 69), (),
       ("gres", "verre"), ("blanc", "terracotta", "sapin", "vert_eau"),
       ("Un vase aux formes douces, pour un bouquet ou seul sur une étagère.",
        "A softly shaped vase, for a bouquet or on its own on a shelf.")),
    _t("deco", "Bougie parfumée", "scented candle", "f", "home", None, (19, 35), (),
       ("soja",), ("blanc", "rose", "vert_eau", "lavande", "moutarde"),
       ("Une bougie coulée à la main, environ 40 heures de combustion.",
        "A hand-poured candle with about 40 hours of burn time.")),
    _t("deco", "Panier tressé", "woven basket", "m", "home", None, (25, 59), (),
       ("jonc", "rotin"), ("naturel", "noir"),
       ("Un panier tressé à anses, pour ranger plaids et jouets.",
        "A woven basket with handles, for throws and toys.")),
    _t("deco", "Cadre photo", "photo frame", "m", "home", None, (15, 39), ("10 x 15", "13 x 18"),
       ("chene", "laiton"), ("naturel", "noir"),
       ("Un cadre photo à poser ou à accrocher.", "A photo frame to stand or to hang.")),
    _t("deco", "Miroir rond", "round mirror", "m", "home", None, (49, 129), ("40 cm", "60 cm"),
       ("rotin", "laiton"), ("naturel", "noir"),
       ("Un miroir rond qui agrandit l'entrée.", "A round mirror that opens up a hallway.")),
    # Cuisine et table
    _t("cuisine", "Mug", "mug", "m", "home", None, (12, 22), (), ("gres", "porcelaine"), HOME,
       ("Un mug de 35 cl qui tient bien en main.", "A 35 cl mug that sits well in the hand.")),
    _t("cuisine", "Assiette plate", "dinner plate", "f", "home", None, (12, 24), (),
       ("gres", "porcelaine"), HOME,
       ("Une assiette plate de 27 cm, au bord légèrement relevé.",
        "A 27 cm dinner plate with a gently raised rim.")),
    _t("cuisine", "Bol", "bowl", "m", "home", None, (9, 19), (), ("gres", "porcelaine"), HOME,
       ("Un bol de 50 cl pour le café au lait du matin.",
        "A 50 cl bowl for the morning café au lait.")),
    _t("cuisine", "Théière", "teapot", "f", "home", None, (39, 89), (), ("fonte", "porcelaine"),
       ("noir", "blanc", "sapin", "terracotta"),
       ("Une théière d'un litre avec filtre inox amovible.",
        "A one-litre teapot with a removable stainless-steel infuser.")),
    _t("cuisine", "Tablier", "apron", "m", "home", "unisex", (29, 45), (), ("lin_lave", "toile"),
       HOME, ("Un tablier à bavette avec une grande poche.", "A bib apron with a large pocket.")),
    _t("cuisine", "Planche à découper", "chopping board", "f", "home", None, (25, 49),
       ("30 cm", "40 cm"), ("olivier", "chene"), ("naturel",),
       ("Une planche taillée dans la masse, à nourrir d'huile de temps en temps.",
        "A board cut from a single piece of wood; oil it from time to time.")),
    _t("cuisine", "Carafe", "carafe", "f", "home", None, (25, 45), (), ("verre",),
       ("blanc", "vert_eau", "ciel"),
       ("Une carafe d'un litre, avec son verre retourné en guise de bouchon.",
        "A one-litre carafe with its glass as a lid.")),
)
# fmt: on


@dataclass(frozen=True)
class Title:
    """A toy or a book: a fixed title, not a material-and-colour variant."""

    category: str
    fr: str
    en: str
    desc_fr: str
    desc_en: str
    price: tuple[int, int]
    age_group: str


def _toys() -> list[Title]:
    # fmt: off
    families: list[tuple[str, str, tuple[tuple[str, str], ...], str, str, tuple[int, int], str]] = [
        ("Puzzle en bois 24 pièces – {}", "Wooden jigsaw puzzle, 24 pieces – {}",
         (("La ferme", "The farm"), ("La jungle", "The jungle"), ("Les océans", "The oceans"),
          ("L'espace", "Outer space")),
         "Un puzzle aux pièces épaisses, faciles à saisir pour les petites mains.",
         "A puzzle with chunky pieces that small hands can grip.", (15, 25), "toddler"),
        ("Peluche {}", "{} soft toy",
         (("lapin", "Bunny"), ("renard", "Fox"), ("ours", "Bear"), ("éléphant", "Elephant"),
          ("koala", "Koala")),
         "Une peluche toute douce, lavable en machine, dès la naissance.",
         "A cuddly soft toy, machine washable, suitable from birth.", (19, 35), "infant"),
        ("Jeu de construction magnétique {} pièces", "Magnetic building set, {} pieces",
         (("30", "30"), ("60", "60"), ("100", "100")),
         "Des formes aimantées pour construire tours, maisons et fusées.",
         "Magnetic shapes to build towers, houses and rockets.", (29, 79), "kids"),
        ("Dînette en bois {}", "{} wooden tea set",
         (("pastel", "Pastel"), ("arc-en-ciel", "Rainbow")),
         "Une dînette complète pour inviter doudous et copains au goûter.",
         "A complete tea set to invite teddies and friends round.", (29, 45), "kids"),
        ("Circuit de billes {}", "{} marble run", (("débutant", "Starter"), ("géant", "Giant")),
         "Des rampes à assembler pour faire dévaler les billes.",
         "Ramps to put together and send marbles racing down.", (35, 79), "kids"),
        ("Jeu de société : {}", "Board game: {}",
         (("La Course des escargots", "The Snail Race"),
          ("Le Trésor du pirate", "The Pirate's Treasure"),
          ("Panique au potager", "Panic in the Vegetable Patch"),
          ("Les Petits Chefs", "Little Chefs")),
         "Un jeu coopératif pour toute la famille, parties de 15 minutes.",
         "A cooperative game for the whole family; games last 15 minutes.", (19, 35), "kids"),
        ("Memory {}", "{} memory game",
         (("des animaux", "Animal"), ("des métiers", "Jobs"), ("des fruits", "Fruit")),
         "Trente-six paires de cartes épaisses pour exercer sa mémoire.",
         "Thirty-six pairs of thick cards to train the memory.", (12, 19), "kids"),
        ("Marionnette {}", "{} hand puppet",
         (("renard", "Fox"), ("loup", "Wolf"), ("chouette", "Owl")),
         "Une marionnette à main pour inventer mille histoires.",
         "A hand puppet to make up a thousand stories.", (15, 25), "kids"),
        ("Kit de perles à repasser – {}", "Fuse bead kit – {}",
         (("licornes", "unicorns"), ("dinosaures", "dinosaurs")),
         "Plus de 2 000 perles et des plaques pour créer ses motifs.",
         "Over 2,000 beads and pegboards to make your own designs.", (15, 25), "kids"),
        ("Poupée de chiffon {}", "{} rag doll", (("Lili", "Lili"), ("Jules", "Jules")),
         "Une poupée de chiffon cousue main, avec ses vêtements amovibles.",
         "A hand-sewn rag doll with removable clothes.", (29, 45), "toddler"),
        ("Loisirs créatifs : {}", "Craft kit: {}",
         (("bijoux en perles", "bead jewellery"), ("peinture sur galets", "pebble painting")),
         "Un coffret complet pour un après-midi créatif.",
         "A complete box for a creative afternoon.", (19, 29), "kids"),
        ("Boîte à musique {}", "{} music box", (("étoiles", "Stars"), ("ballerine", "Ballerina")),
         "Une boîte à musique à manivelle qui joue une berceuse.",
         "A hand-cranked music box that plays a lullaby.", (25, 39), "toddler"),
    ]
    singles: list[tuple[str, str, str, str, tuple[int, int], str]] = [
        ("Xylophone arc-en-ciel", "Rainbow xylophone",
         "Un xylophone en bois à huit lames colorées.",
         "A wooden xylophone with eight coloured bars.", (19, 29), "toddler"),
        ("Draisienne en bois", "Wooden balance bike",
         "Une draisienne à selle réglable pour apprendre l'équilibre.",
         "A balance bike with an adjustable seat for learning to balance.", (69, 99), "kids"),
        ("Tipi en toile", "Canvas play tent",
         "Un tipi en toile de coton pour un coin lecture douillet.",
         "A cotton canvas play tent for a cosy reading corner.", (79, 119), "kids"),
        ("Cube d'activités en bois", "Wooden activity cube",
         "Un cube d'éveil à cinq faces : labyrinthe, formes, engrenages…",
         "A five-sided activity cube: bead maze, shapes, gears…", (39, 59), "toddler"),
        ("Trotteur en bois", "Wooden baby walker",
         "Un trotteur stable pour les premiers pas, avec des cubes à empiler.",
         "A steady walker for first steps, with stacking blocks.", (59, 79), "toddler"),
        ("Camion de pompiers en bois", "Wooden fire engine",
         "Un camion de pompiers avec sa grande échelle pivotante.",
         "A fire engine with a swivelling ladder.", (25, 39), "toddler"),
        ("Train en bois à trois wagons", "Wooden train with three carriages",
         "Un train aimanté à tirer, avec trois wagons.",
         "A magnetic pull-along train with three carriages.", (25, 39), "toddler"),
        ("Jeu de quilles en bois", "Wooden skittles set",
         "Six quilles peintes et deux boules pour jouer au jardin.",
         "Six painted skittles and two balls to play in the garden.", (19, 29), "kids"),
    ]
    # fmt: on
    toys = [
        Title("jouets", fr.format(v_fr), en.format(v_en), dfr, den, price, age)
        for fr, en, variants, dfr, den, price, age in families
        for v_fr, v_en in variants
    ]
    toys += [Title("jouets", *single) for single in singles]
    return toys


def _books() -> list[Title]:
    # fmt: off
    kinds = {
        "album": ("Album jeunesse", "Picture book",
                  "Un album tendre et drôle, à lire ensemble dès 3 ans.",
                  "A warm, funny picture book to share from age 3.", "toddler"),
        "conte": ("Recueil de contes", "Story collection",
                  "Des histoires courtes à lire le soir, dès 4 ans.",
                  "Short bedtime stories, from age 4.", "kids"),
        "documentaire": ("Documentaire", "Non-fiction",
                         "Un documentaire illustré pour les curieux dès 6 ans.",
                         "An illustrated non-fiction book for curious minds from age 6.", "kids"),
        "roman": ("Roman junior", "Junior novel",
                  "Un premier roman en chapitres courts, dès 8 ans.",
                  "A first chapter book, from age 8.", "kids"),
        "bd": ("Bande dessinée", "Comic book",
               "Une bande dessinée pleine d'humour, dès 7 ans.",
               "A comic book full of humour, from age 7.", "kids"),
        "imagier": ("Imagier", "First words book",
                    "Un imagier cartonné aux coins arrondis, dès 1 an.",
                    "A board book of first words with rounded corners, from age 1.", "toddler"),
    }
    titles = [
        ("album", "Le Renard qui voulait voler", "The Fox Who Wanted to Fly"),
        ("album", "Une nuit chez les hiboux", "A Night with the Owls"),
        ("album", "Lou et le grand voyage", "Lou and the Big Journey"),
        ("album", "Le Jardin de Mamie Rose", "Granny Rose's Garden"),
        ("album", "Où est passé Doudou ?", "Where Has Teddy Gone?"),
        ("album", "Petit Ours ne veut pas dormir", "Little Bear Won't Go to Sleep"),
        ("album", "La Sorcière qui avait peur du noir", "The Witch Who Was Afraid of the Dark"),
        ("album", "Un dragon dans la classe", "A Dragon in the Classroom"),
        ("conte", "Contes du soir pour s'endormir", "Bedtime Tales to Drift Off"),
        ("conte", "Contes de la forêt enchantée", "Tales of the Enchanted Forest"),
        ("documentaire", "Le Grand Livre des dinosaures", "The Big Book of Dinosaurs"),
        ("documentaire", "Les Saisons au potager", "Seasons in the Vegetable Garden"),
        ("documentaire", "Mon corps, comment ça marche ?", "My Body: How Does It Work?"),
        ("roman", "Le Mystère du phare", "The Lighthouse Mystery"),
        ("roman", "Les Détectives de la rue des Lilas", "The Lilac Street Detectives"),
        ("roman", "Capitaine Moustache et le trésor perdu",
         "Captain Whiskers and the Lost Treasure"),
        ("bd", "Les Pirates de la baignoire", "The Bathtub Pirates"),
        ("bd", "Zoé et les robots", "Zoé and the Robots"),
        ("imagier", "Les animaux de la ferme", "Farm Animals"),
        ("imagier", "Les couleurs", "Colours"),
    ]
    # fmt: on
    books = []
    for kind, fr, en in titles:
        label_fr, label_en, desc_fr, desc_en, age = kinds[kind]
        for edition_fr, edition_en, price in (
            ("édition reliée", "hardback", (12, 18)),
            ("format poche", "paperback", (5, 8)),
        ):
            books.append(
                Title(
                    "livres",
                    f"{label_fr} : {fr} ({edition_fr})",
                    f"{label_en}: {en} ({edition_en})",
                    desc_fr,
                    desc_en,
                    price,
                    age,
                )
            )
    return books


@dataclass(frozen=True)
class CatalogProduct:
    """One product of the demo catalog, ready to become a ``products`` row."""

    sku: str
    title: str
    description: str
    title_en: str
    description_en: str
    category: str
    category_en: str
    brand: str
    color: str | None
    color_en: str | None
    color_hex: str
    sizes: tuple[str, ...]
    gender: str | None
    age_group: str
    universe: str
    material: str | None
    price_cents: int
    sale_price_cents: int | None
    availability: str
    url: str
    image_url: str
    gtin: str
    popularity: float

    @property
    def unit_price_cents(self) -> int:
        """What a customer pays for one: the sale price when there is one."""
        return self.sale_price_cents if self.sale_price_cents is not None else self.price_cents

    @property
    def translations(self) -> dict[str, Any]:
        """The English version of the customer-facing texts."""
        english: dict[str, Any] = {
            "title": self.title_en,
            "description": self.description_en,
            "category": self.category_en,
        }
        if self.color_en is not None:
            english["color"] = self.color_en
        return {"en": english}

    def row(self, workspace_id: str, currency: str) -> dict[str, Any]:
        """The product as a row of the store's products table (ids and times left to the
        caller)."""
        return {
            "workspace_id": workspace_id,
            "sku": self.sku,
            "title": self.title,
            "description": self.description,
            "translations": self.translations,
            "category": self.category,
            "brand": self.brand,
            "color": self.color,
            "sizes": list(self.sizes),
            "gender": self.gender,
            "age_group": self.age_group,
            "price_cents": self.price_cents,
            "sale_price_cents": self.sale_price_cents,
            "currency": currency,
            "availability": self.availability,
            "url": self.url,
            "image_url": self.image_url,
            "gtin": self.gtin,
            "attributes": {"universe": self.universe, "material": self.material},
        }

    def search_item(self) -> CatalogItem:
        """The product as the assistant's catalog search reads it once the demo stored it."""
        return CatalogItem(
            sku=self.sku,
            title=self.title,
            price_cents=self.price_cents,
            description=self.description,
            translations=self.translations,
            category=self.category,
            brand=self.brand,
            color=self.color,
            sizes=self.sizes,
            gender=self.gender,
            age_group=self.age_group,
            sale_price_cents=self.sale_price_cents,
            availability=self.availability,
            url=self.url,
            image_url=self.image_url,
            attributes={"universe": self.universe, "material": self.material or ""},
            popularity=self.popularity,
        )


@dataclass(frozen=True)
class _Draft:
    category: Category
    title: str
    title_en: str
    description: str
    description_en: str
    colour: Colour | None
    sizes: tuple[str, ...]
    gender: str | None
    age_group: str
    universe: str
    material: str | None
    price: tuple[int, int]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _garment_drafts(category: Category) -> list[_Draft]:
    drafts = []
    for template in TEMPLATES:
        if template.category != category.key:
            continue
        form = (2 if template.plural else 0) + (1 if template.feminine else 0)
        for material_key in template.materials:
            material = MATERIALS[material_key]
            for colour_key in template.colours:
                colour = COLOURS[colour_key]
                drafts.append(
                    _Draft(
                        category=category,
                        title=f"{template.fr} en {material.fr} {colour.fr[form]}",
                        title_en=_capitalise(f"{colour.en} {material.en} {template.en}"),
                        description=(
                            f"{template.desc_fr} {material.note_fr} Coloris : {colour.fr[0]}."
                        ),
                        description_en=(
                            f"{template.desc_en} {material.note_en} Colour: {colour.en}."
                        ),
                        colour=colour,
                        sizes=template.sizes,
                        gender=template.gender,
                        age_group=template.age_group,
                        universe=template.universe,
                        material=material.fr,
                        price=template.price,
                    )
                )
    return drafts


def _title_drafts(category: Category, titles: list[Title]) -> list[_Draft]:
    return [
        _Draft(
            category=category,
            title=t.fr,
            title_en=t.en,
            description=t.desc_fr,
            description_en=t.desc_en,
            colour=None,
            sizes=(),
            gender="unisex",
            age_group=t.age_group,
            universe="kids",
            material=None,
            price=t.price,
        )
        for t in titles
    ]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _gtin(number: int) -> str:
    # EAN-13 in the 200-299 in-store range, so it can never name a real article.
    body = f"200{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


SHAPES = {
    "top": "<path d='M30 28 L48 16 Q60 26 72 16 L90 28 L102 48 L88 54 L86 96 L34 96 L32 54 "
    "L18 48 Z' fill='{c}'/>",
    "dress": "<path d='M46 14 L74 14 L71 40 L94 98 L26 98 L49 40 Z' fill='{c}'/>",
    "trousers": "<path d='M38 14 L82 14 L88 98 L66 98 L60 46 L54 98 L32 98 Z' fill='{c}'/>",
    "coat": "<path d='M30 20 L48 10 L60 24 L72 10 L90 20 L100 62 L88 64 L88 100 L32 100 "
    "L32 64 L20 62 Z' fill='{c}'/>",
    "shoe": "<path d='M16 72 L16 48 L44 48 L60 62 L98 70 Q106 84 96 90 L16 90 Z' fill='{c}'/>",
    "bag": "<path d='M44 42 Q60 8 76 42' fill='none' stroke='{c}' stroke-width='5'/>"
    "<rect x='30' y='40' width='60' height='56' rx='6' fill='{c}'/>",
    "toy": "<circle cx='38' cy='34' r='12' fill='{c}'/><circle cx='82' cy='34' r='12' "
    "fill='{c}'/><circle cx='60' cy='60' r='30' fill='{c}'/>",
    "book": "<rect x='34' y='16' width='54' height='78' rx='3' fill='{c}'/>"
    "<rect x='34' y='16' width='8' height='78' fill='#000' fill-opacity='.2'/>",
    "linen": "<rect x='24' y='34' width='72' height='16' rx='3' fill='{c}'/>"
    "<rect x='24' y='54' width='72' height='16' rx='3' fill='{c}' fill-opacity='.8'/>"
    "<rect x='24' y='74' width='72' height='16' rx='3' fill='{c}' fill-opacity='.6'/>",
    "vase": "<path d='M50 16 L70 16 L68 32 Q90 50 80 80 Q76 96 60 96 Q44 96 40 80 Q30 50 52 32 "
    "Z' fill='{c}'/>",
    "mug": "<rect x='30' y='32' width='48' height='58' rx='6' fill='{c}'/><path d='M78 44 "
    "Q98 44 98 61 Q98 78 78 78' fill='none' stroke='{c}' stroke-width='7'/>",
}


def svg_image(shape: str, colour_hex: str, label: str) -> str:
    """A small inline SVG placeholder: the category's shape in the product colour, labelled."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 120 120'>"
        "<rect width='120' height='120' fill='#f3efe7'/>"
        f"<g stroke='#000' stroke-opacity='.15'>{SHAPES[shape].format(c=colour_hex)}</g>"
        "<text x='60' y='113' font-family='sans-serif' font-size='10' text-anchor='middle' "
        f"fill='#555'>{html.escape(label, quote=True)}</text></svg>"
    )
    return "data:image/svg+xml;utf8," + quote(svg, safe="/:=',;()-.")


def _price_cents(rng: np.random.Generator, low: int, high: int) -> int:
    # French shops price at x,90 €.
    return int(rng.integers(low, high + 1)) * 100 - 10


def build_catalog(rng: np.random.Generator) -> tuple[CatalogProduct, ...]:
    """Draw the 500-product catalog: per category, a random choice among its variants."""
    toys, books = _toys(), _books()
    ranks = rng.permutation(CATALOG_SIZE)
    products: list[CatalogProduct] = []
    for category in CATEGORIES:
        if category.key == "jouets":
            drafts = _title_drafts(category, toys)
        elif category.key == "livres":
            drafts = _title_drafts(category, books)
        else:
            drafts = _garment_drafts(category)
        if len(drafts) < category.quota:
            raise AssertionError(f"{category.key}: {len(drafts)} variants for {category.quota}")
        chosen = np.sort(rng.choice(len(drafts), size=category.quota, replace=False))
        for index in chosen:
            number = len(products) + 1
            # Zipf-like popularity over a random ranking: a few best-sellers, a long tail.
            popularity = 1.0 / (float(ranks[number - 1]) + 8.0) ** 0.9
            products.append(_finish(rng, drafts[int(index)], number, popularity))
    if len(products) != CATALOG_SIZE:
        raise AssertionError(f"catalog has {len(products)} products")
    return tuple(products)


def _finish(
    rng: np.random.Generator, draft: _Draft, number: int, popularity: float
) -> CatalogProduct:
    category = draft.category
    brand = category.brands[int(rng.integers(len(category.brands)))]
    price = _price_cents(rng, *draft.price)
    sale = None
    if rng.random() < 0.15:
        sale = int(price * rng.uniform(0.6, 0.8)) // 100 * 100 + 90
        if sale >= price:
            sale = None
    availability = str(rng.choice(["in_stock", "out_of_stock", "backorder"], p=[0.94, 0.05, 0.01]))
    if draft.colour is not None:
        colour_hex = draft.colour.hex
    else:
        colour_hex = COLOURS[KIDS_COLOURS[int(rng.integers(len(KIDS_COLOURS)))]].hex
    sku = f"{category.code}-{number:04d}"
    description = f"{draft.description} Signé {brand}."
    description_en = f"{draft.description_en} By {brand}."
    return CatalogProduct(
        sku=sku,
        title=draft.title,
        description=description,
        title_en=draft.title_en,
        description_en=description_en,
        category=category.fr,
        category_en=category.en,
        brand=brand,
        color=draft.colour.fr[0] if draft.colour else None,
        color_en=draft.colour.en if draft.colour else None,
        color_hex=colour_hex,
        sizes=draft.sizes,
        gender=draft.gender,
        age_group=draft.age_group,
        universe=draft.universe,
        material=draft.material,
        price_cents=price,
        sale_price_cents=sale,
        availability=availability,
        url=f"{STORE_URL}/produits/{_slug(draft.title)}-{sku.lower()}",
        image_url=svg_image(category.shape, colour_hex, category.fr),
        gtin=_gtin(number),
        popularity=popularity,
    )
