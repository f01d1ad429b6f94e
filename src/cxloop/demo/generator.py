"""Customers, orders, order lines and shipments of the demo store, as numpy columns.

Repeat buying follows the BG/NBD story of Fader, Hardie & Lee (2005), "Counting your
customers the easy way": while alive, a customer buys as a Poisson process of rate
λ ~ Gamma(r, α); after each repeat purchase she drops out with probability p ~ Beta(a, b).
The parameters are those reported for CDNOW (r = 0.24, α = 4.41 weeks, a = 0.79, b = 2.43)
with r raised a little, for a fashion and home shop whose customers average about 2.3 orders.

The process runs in *operational time* u ∈ [0, 730] days with randomness from the seed only.
Calendar time is t = Λ⁻¹(u), where Λ is the cumulative seasonal intensity (sales in January
and late June, a summer dip, the November–December peak, weekdays and hours of the day) over
the 730 days before ``as_of``: a time-changed Poisson process. Counts and amounts therefore
never depend on the calendar; only timestamps, lateness and parcel statuses do.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from cxloop.demo.catalog import UNIVERSES, CatalogProduct, build_catalog

HORIZON_DAYS = 730
SETTLED_DAYS = 30.0
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Times = NDArray[np.datetime64]


@dataclass(frozen=True)
class BuyingProcess:
    """BG/NBD parameters (α in weeks) and how fast new customers arrive."""

    r: float = 0.27
    alpha_weeks: float = 4.41
    a: float = 0.79
    b: float = 2.43
    max_rate_per_week: float = 0.5
    acquisition_growth: float = 1.0


@dataclass(frozen=True)
class Carrier:
    """A delivery option: carrier, method, promised transit days and how often it is late."""

    name: str
    method: str
    transit_days: int
    share: float
    lateness: float


CARRIERS: dict[str, tuple[Carrier, ...]] = {
    "FR": (
        Carrier("Colissimo", "standard", 2, 0.38, 1.0),
        Carrier("Mondial Relay", "relay", 4, 0.30, 1.4),
        Carrier("Chronopost", "express", 1, 0.12, 0.7),
        Carrier("DPD", "standard", 2, 0.20, 0.9),
    ),
    "BE": (
        Carrier("Mondial Relay", "relay", 5, 0.45, 1.4),
        Carrier("DPD", "standard", 3, 0.35, 0.9),
        Carrier("Colissimo", "standard", 4, 0.20, 1.0),
    ),
    "CH": (Carrier("Colissimo", "standard", 5, 0.5, 1.0), Carrier("UPS", "express", 3, 0.5, 0.7)),
    "CA": (Carrier("UPS", "express", 5, 0.6, 0.8), Carrier("Colissimo", "standard", 9, 0.4, 1.2)),
    "GB": (Carrier("UPS", "express", 3, 0.5, 0.8), Carrier("DPD", "standard", 4, 0.5, 1.0)),
}
COUNTRIES = ("FR", "BE", "CH", "CA", "GB")
COUNTRY_SHARES = (0.85, 0.06, 0.03, 0.02, 0.04)
TIMEZONES = {
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "CA": "America/Toronto",
    "GB": "Europe/London",
}
FRENCH_SPEAKER_SHARE = {"FR": 0.96, "BE": 0.95, "CH": 0.95, "CA": 0.6, "GB": 0.0}
# fmt: off
CITIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("FR", "fr"): (
        "Paris", "Lyon", "Marseille", "Toulouse", "Bordeaux", "Nantes", "Lille", "Nice",
        "Strasbourg", "Montpellier", "Rennes", "Grenoble", "Reims", "Dijon", "Angers", "Tours",
        "Saint-Étienne", "Le Havre", "Toulon", "Clermont-Ferrand", "Aix-en-Provence", "Brest",
        "Nîmes", "Limoges", "Amiens", "Annecy", "Metz", "Besançon", "Orléans", "Rouen", "Caen",
        "Nancy", "La Rochelle", "Poitiers", "Pau", "Avignon", "Versailles",
        "Boulogne-Billancourt", "Montreuil", "Vannes", "Quimper", "Chambéry", "Biarritz",
    ),
    ("BE", "fr"): ("Bruxelles", "Liège", "Namur", "Charleroi", "Mons", "Louvain-la-Neuve"),
    ("CH", "fr"): ("Genève", "Lausanne", "Neuchâtel", "Fribourg", "Sion"),
    ("CA", "fr"): ("Montréal", "Québec", "Gatineau", "Sherbrooke"),
    ("CA", "en"): ("Toronto", "Ottawa", "Vancouver", "Calgary"),
    ("GB", "en"): ("London", "Manchester", "Bristol", "Edinburgh", "Brighton", "Leeds", "Oxford"),
}
FIRST_NAMES = {
    "fr": (
        "Léa", "Chloé", "Manon", "Camille", "Inès", "Zoé", "Jade", "Louise", "Emma", "Sarah",
        "Juliette", "Anaïs", "Élodie", "Hélène", "Cécile", "Aurélie", "Noémie", "Maëlle",
        "Gaëlle", "Clémence", "Margaux", "Pauline", "Mathilde", "Céline", "Isabelle", "Nathalie",
        "Sophie", "Marion", "Émilie", "Agathe", "Lucas", "Hugo", "Théo", "Louis", "Jules",
        "Raphaël", "Arthur", "Nathan", "Clément", "Antoine", "Thomas", "Maxime", "Julien",
        "Nicolas", "Jérôme", "François", "Frédéric", "Stéphane", "Benoît", "Loïc", "Mathéo",
        "Étienne", "Grégoire", "Baptiste",
    ),
    "en": (
        "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Lucy", "Charlotte",
        "Hannah", "Chloe", "Ella", "Oliver", "George", "Harry", "Jack", "Charlie", "James",
        "William", "Daniel", "Samuel", "Thomas", "Noah", "Leo",
    ),
}
LAST_NAMES = {
    "fr": (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
        "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
        "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier", "Faure",
        "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin",
        "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier",
        "Robin", "Masson", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly",
        "Roche", "Noël", "Meyer", "Lucas", "Meunier", "Pérez", "Marchand", "Dufour",
        "Blanchard", "Barbier", "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin",
        "Renard", "Arnaud", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois",
        "Renaud", "Lemoine", "Picard", "Gaillard", "Lacroix", "Fabre", "Dupuis", "Olivier",
        "Da Silva", "Hubert", "Rivière", "Le Gall", "Guillaume", "Moulin", "Berger", "Ménard",
        "Fleury", "Deschamps", "Carpentier", "Prévost", "Poirier", "Charpentier", "Benoît",
        "Le Roux", "Besnard", "Tessier", "Cordier", "Hamon", "Royer", "Huet", "Baron",
    ),
    "en": (
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
        "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
        "Hall", "Wood", "Jackson", "Clarke", "Patel", "Campbell", "Murray", "Tremblay",
    ),
}
# fmt: on
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
CHANNELS = ("search", "social", "direct", "email", "referral", "ads")
CHANNEL_SHARES = (0.32, 0.22, 0.18, 0.1, 0.08, 0.1)
UNIVERSE_SHARES = (0.42, 0.14, 0.26, 0.18)
WELCOME = ("BIENVENUE10", 0.10)
LOYALTY = ("MERCI15", 0.15)


@dataclass(frozen=True)
class Customers:
    """One entry per customer, numbered in order of arrival."""

    first_name: list[str]
    last_name: list[str]
    email: list[str]
    phone: list[str | None]
    locale: list[str]
    country: list[str]
    city: list[str]
    timezone: list[str]
    channel: list[str]
    newsletter: Bools
    created_at: Times
    first_seen_at: Times
    last_seen_at: Times


@dataclass(frozen=True)
class Orders:
    """One entry per order, in the order they were placed."""

    customer: Ints
    operational_day: Floats
    number: Ints
    status: list[str]
    subtotal_cents: Ints
    discount_cents: Ints
    shipping_cents: Ints
    total_cents: Ints
    refunded_cents: Ints
    coupon: list[str | None]
    country: list[str]
    carrier: list[Carrier]
    placed_at: Times
    cancelled_at: Times
    updated_at: Times
    first_item: Ints

    @property
    def count(self) -> int:
        """How many orders."""
        return int(self.customer.size)


@dataclass(frozen=True)
class Items:
    """Order lines, grouped by order (``Orders.first_item`` points into these)."""

    order: Ints
    product: Ints
    quantity: Ints
    unit_price_cents: Ints
    total_cents: Ints


@dataclass(frozen=True)
class Shipments:
    """One parcel per order that was not cancelled."""

    order: Ints
    carrier: list[str]
    method: list[str]
    tracking_number: list[str]
    status: list[str]
    shipped_at: Times
    promised_at: Times
    delivered_at: Times


@dataclass(frozen=True)
class Store:
    """Everything the demo store holds, before it is written to a database."""

    products: tuple[CatalogProduct, ...]
    customers: Customers
    orders: Orders
    items: Items
    shipments: Shipments
    end: dt.datetime

    @property
    def revenue_cents(self) -> int:
        """Gross sales of the orders not cancelled, minus refunds, in cents."""
        kept = np.array([s != "cancelled" for s in self.orders.status], dtype=bool)
        return int(self.orders.total_cents[kept].sum() - self.orders.refunded_cents[kept].sum())


def history_end(as_of: dt.date) -> dt.datetime:
    """The instant the history stops: midnight UTC at the start of ``as_of``."""
    return dt.datetime.combine(as_of, dt.time(0), tzinfo=dt.UTC)


def demo_catalog(seed: int = 1) -> tuple[CatalogProduct, ...]:
    """The catalog ``generate_store`` draws for this seed (the demo's is seed 1)."""
    catalog_seed = np.random.SeedSequence(seed).spawn(6)[0]
    return build_catalog(np.random.default_rng(catalog_seed))


def generate_store(
    customers: int, seed: int, as_of: dt.date, process: BuyingProcess | None = None
) -> Store:
    """Generate the whole store for ``customers`` customers over the 730 days before ``as_of``."""
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if seed < 0:
        raise ValueError("seed must not be negative")
    process = process or BuyingProcess()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    catalog_rng, purchase_rng, people_rng, basket_rng, money_rng, parcel_rng = streams
    products = build_catalog(catalog_rng)
    end = history_end(as_of)
    buyer, day = simulate_purchases(purchase_rng, customers, process)
    placed = to_calendar(day, end)
    people = _people(people_rng, customers)
    items = _baskets(basket_rng, products, buyer, people.universe, people.basket_size)
    orders = _orders(money_rng, buyer, day, placed, items, people.country, end)
    shipments = _shipments(parcel_rng, orders, end)
    orders = _settle(orders, shipments, end)
    return Store(
        products=products,
        customers=_customer_columns(people_rng, people, orders, end),
        orders=orders,
        items=items,
        shipments=shipments,
        end=end,
    )


def simulate_purchases(
    rng: np.random.Generator, customers: int, process: BuyingProcess
) -> tuple[Ints, Floats]:
    """BG/NBD purchases in operational days: (customer, day) per order, sorted by day."""
    # Arrivals have density ∝ 1 + g·u/T on [0, T]: acquisition grows over the two years.
    g = process.acquisition_growth
    v = rng.random(customers)
    share = (-1.0 + np.sqrt(1.0 + 2.0 * g * v * (1.0 + g / 2.0))) / g if g > 0 else v
    birth = np.sort(share * HORIZON_DAYS)
    weekly = rng.gamma(process.r, 1.0 / process.alpha_weeks, customers)
    rate = np.clip(weekly, 1e-9, process.max_rate_per_week) / 7.0
    dropout = rng.beta(process.a, process.b, customers)
    who = [np.arange(customers, dtype=np.int64)]
    when = [birth]
    last = birth.copy()
    alive = np.arange(customers, dtype=np.int64)
    while alive.size:
        following = last[alive] + rng.exponential(1.0, alive.size) / rate[alive]
        inside = following < HORIZON_DAYS
        alive = alive[inside]
        last[alive] = following[inside]
        who.append(alive)
        when.append(last[alive])
        alive = alive[rng.random(alive.size) >= dropout[alive]]
    customer = np.concatenate(who)
    day = np.concatenate(when)
    order = np.lexsort((customer, day))
    return customer[order], day[order]


def _season_table() -> Floats:
    """Relative order intensity per (month, day) of a French fashion and home shop."""
    table = np.ones((12, 31))

    def span(month: int, first: int, last: int, factor: float) -> None:
        table[month - 1, first - 1 : last] = factor

    span(1, 1, 7, 0.85)
    span(1, 8, 31, 1.4)  # winter sales start on the second Wednesday of January
    span(2, 1, 4, 1.3)
    span(2, 5, 31, 0.9)
    span(5, 15, 31, 1.15)  # Mother's Day, end of May in France
    span(6, 1, 23, 0.95)
    span(6, 24, 30, 1.35)  # summer sales start at the end of June
    span(7, 1, 21, 1.3)
    span(7, 22, 31, 0.7)
    span(8, 1, 31, 0.7)
    span(9, 1, 15, 1.1)  # back to school
    span(10, 1, 31, 1.05)
    span(11, 1, 21, 1.3)
    span(11, 22, 30, 2.2)  # Black Friday week
    span(12, 1, 2, 2.2)
    span(12, 3, 20, 1.8)
    span(12, 21, 24, 1.2)
    span(12, 25, 31, 0.8)
    return table


SEASON = _season_table()
WEEKDAY = np.array([1.05, 1.0, 1.0, 0.97, 0.9, 0.88, 1.15])
HOUR = np.array(
    [0.35, 0.2, 0.12, 0.08, 0.07, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.05,
     1.15, 1.2, 1.05, 1.0, 1.0, 1.05, 1.15, 1.3, 1.5, 1.55, 1.3, 0.8]
)  # fmt: skip
PARIS_OFFSET = np.timedelta64(1, "h")


def _calendar_parts(times: Times) -> tuple[Ints, Ints, Ints, Ints]:
    """Month (1-12), day of month, weekday (0 = Monday) and hour, on Paris winter time."""
    local = times + PARIS_OFFSET
    days = local.astype("datetime64[D]")
    months = local.astype("datetime64[M]")
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7
    hour = local.astype("datetime64[h]").astype(np.int64) % 24
    return month, day, weekday, hour


def seasonal_intensity(start: np.datetime64, hours: int) -> Floats:
    """Relative order intensity for each hour from ``start``."""
    mid = start + np.arange(hours).astype("timedelta64[h]") + np.timedelta64(30, "m")
    month, day, weekday, hour = _calendar_parts(mid)
    intensity: Floats = SEASON[month - 1, day - 1] * WEEKDAY[weekday] * HOUR[hour]
    return intensity


def to_calendar(day: Floats, end: dt.datetime) -> Times:
    """Map operational days onto the 730 calendar days before ``end`` (to the second)."""
    hours = HORIZON_DAYS * 24
    start = _naive(end) - np.timedelta64(hours, "h")
    cumulative = np.concatenate(([0.0], np.cumsum(seasonal_intensity(start, hours))))
    cumulative *= HORIZON_DAYS / cumulative[-1]
    offset_hours = np.interp(day, cumulative, np.arange(hours + 1, dtype=np.float64))
    seconds = np.minimum(np.floor(offset_hours * 3600.0), hours * 3600 - 1).astype(np.int64)
    placed: Times = start + seconds.astype("timedelta64[s]")
    return placed


def _naive(moment: dt.datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(dt.UTC).replace(tzinfo=None), "s")


@dataclass(frozen=True)
class _People:
    first_name: list[str]
    last_name: list[str]
    locale: list[str]
    country: list[str]
    city: list[str]
    universe: Ints
    basket_size: Floats


def _people(rng: np.random.Generator, customers: int) -> _People:
    country_index = rng.choice(len(COUNTRIES), size=customers, p=COUNTRY_SHARES)
    french_share = np.array([FRENCH_SPEAKER_SHARE[c] for c in COUNTRIES])[country_index]
    speaks_french = rng.random(customers) < french_share
    name_draws = rng.random((customers, 3))
    countries: list[str] = []
    locales: list[str] = []
    firsts: list[str] = []
    lasts: list[str] = []
    cities: list[str] = []
    for ci, french, (u_first, u_last, u_city) in zip(
        country_index.tolist(), speaks_french.tolist(), name_draws.tolist(), strict=True
    ):
        country = COUNTRIES[ci]
        locale = "fr" if french else "en"
        first_names, last_names = FIRST_NAMES[locale], LAST_NAMES[locale]
        city_list = CITIES.get((country, locale)) or CITIES[(country, "fr")]
        countries.append(country)
        locales.append(locale)
        firsts.append(first_names[_skewed_index(u_first, len(first_names), 0.6)])
        lasts.append(last_names[_skewed_index(u_last, len(last_names), 0.5)])
        cities.append(city_list[_skewed_index(u_city, len(city_list), 1.1)])
    universe = rng.choice(len(UNIVERSES), size=customers, p=UNIVERSE_SHARES)
    basket_size = rng.gamma(2.0, 0.25, customers)
    return _People(firsts, lasts, locales, countries, cities, universe, basket_size)


def _skewed_index(u: float, size: int, exponent: float) -> int:
    """An index in [0, size) with Zipf-like weights 1/(i+1)^exponent, from a uniform draw."""
    weights = _zipf_cdf(size, exponent)
    return int(np.searchsorted(weights, u, side="right"))


@functools.cache
def _zipf_cdf(size: int, exponent: float) -> Floats:
    w = 1.0 / np.arange(1, size + 1, dtype=np.float64) ** exponent
    cdf: Floats = np.cumsum(w) / w.sum()
    # A uniform draw is below 1, so the last index is always reachable and never passed.
    cdf[-1] = 1.0 + 1e-12
    return cdf


def _baskets(
    rng: np.random.Generator,
    products: tuple[CatalogProduct, ...],
    buyer: Ints,
    universe: Ints,
    basket_size: Floats,
) -> Items:
    """Order lines: mostly from the customer's own universe, popular products more often."""
    orders = buyer.size
    lines = 1 + np.minimum(rng.poisson(basket_size[buyer]), 5)
    order_of_line = np.repeat(np.arange(orders, dtype=np.int64), lines)
    price = np.array([p.unit_price_cents for p in products], dtype=np.float64)
    # Cheaper products sell more often: popularity times a price elasticity.
    popularity = np.array([p.popularity for p in products]) * (price / np.median(price)) ** -0.7
    product_universe = np.array([UNIVERSES.index(p.universe) for p in products])
    draw = rng.random(order_of_line.size)
    own = rng.random(order_of_line.size) < 0.7
    line_universe = universe[buyer[order_of_line]]
    product = _pick(popularity, draw)
    for u in range(len(UNIVERSES)):
        members = np.flatnonzero(product_universe == u)
        chosen = own & (line_universe == u)
        product[chosen] = members[_pick(popularity[members], draw[chosen])]
    # The same product twice in one basket is one line.
    _, first = np.unique(order_of_line * len(products) + product, return_index=True)
    keep = np.zeros(order_of_line.size, dtype=bool)
    keep[first] = True
    quantity = np.where(rng.random(order_of_line.size) < 0.93, 1, 2)
    quantity[rng.random(order_of_line.size) < 0.02] = 3
    order_of_line, product, quantity = order_of_line[keep], product[keep], quantity[keep]
    unit = np.array([p.unit_price_cents for p in products], dtype=np.int64)[product]
    return Items(
        order=order_of_line,
        product=product.astype(np.int64),
        quantity=quantity.astype(np.int64),
        unit_price_cents=unit,
        total_cents=unit * quantity,
    )


def _pick(weights: Floats, uniform: Floats) -> Ints:
    cdf = np.cumsum(weights) / weights.sum()
    picked: Ints = np.minimum(np.searchsorted(cdf, uniform, side="right"), weights.size - 1)
    return picked.astype(np.int64)


def _shipping_fee(country: str, method: str, net: int) -> int:
    """Delivery price in cents: free above a threshold; express is paid below 150 €."""
    domestic = country in ("FR", "BE")
    if method == "express":
        return 0 if net >= 15000 else (990 if domestic else 1990)
    if domestic:
        return 0 if net >= 5000 else 490
    return 0 if net >= 10000 else 1290


def _choose_carrier(country: str, u: float) -> Carrier:
    options = CARRIERS[country]
    acc = 0.0
    for option in options:
        acc += option.share
        if u < acc:
            return option
    return options[-1]


def _orders(
    rng: np.random.Generator,
    buyer: Ints,
    day: Floats,
    placed: Times,
    items: Items,
    customer_country: list[str],
    end: dt.datetime,
) -> Orders:
    count = buyer.size
    subtotal = np.rint(np.bincount(items.order, weights=items.total_cents, minlength=count))
    subtotal = subtotal.astype(np.int64)
    first_item = np.searchsorted(items.order, np.arange(count)).astype(np.int64)
    lines = np.diff(np.append(first_item, items.order.size))
    # Orders are sorted by time, so a customer's first order is where she first appears.
    is_first = np.zeros(count, dtype=bool)
    is_first[np.unique(buyer, return_index=True)[1]] = True

    coupon_draw = rng.random(count)
    welcome = is_first & (coupon_draw < 0.15)
    loyalty = ~is_first & (coupon_draw < 0.06)
    discount = np.zeros(count, dtype=np.int64)
    discount[welcome] = np.rint(subtotal[welcome] * WELCOME[1]).astype(np.int64)
    discount[loyalty] = np.rint(subtotal[loyalty] * LOYALTY[1]).astype(np.int64)
    coupon: list[str | None] = [
        WELCOME[0] if w else LOYALTY[0] if lo else None
        for w, lo in zip(welcome.tolist(), loyalty.tolist(), strict=True)
    ]

    country = [customer_country[c] for c in buyer.tolist()]
    carrier = [
        _choose_carrier(c, u) for c, u in zip(country, rng.random(count).tolist(), strict=True)
    ]
    net = subtotal - discount
    shipping = np.array(
        [
            _shipping_fee(c, k.method, n)
            for c, k, n in zip(country, carrier, net.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    total = net + shipping

    cancelled = rng.random(count) < 0.015
    # Refunds only touch orders old enough to have been delivered, whatever the calendar.
    settled = day < HORIZON_DAYS - SETTLED_DAYS
    refund_draw = rng.random(count)
    full_refund = ~cancelled & settled & (refund_draw < 0.025)
    partial = ~cancelled & settled & (lines >= 2) & (refund_draw > 0.95)
    refunded = np.zeros(count, dtype=np.int64)
    refunded[full_refund] = total[full_refund]
    # A returned line is refunded less its share of the discount.
    share = 1.0 - discount[partial] / np.maximum(subtotal[partial], 1)
    refunded[partial] = np.rint(items.total_cents[first_item[partial]] * share).astype(np.int64)
    status = np.where(cancelled, "cancelled", np.where(full_refund, "refunded", "placed"))

    delay = (rng.gamma(2.0, 1.5, count) * 3600).astype(np.int64).astype("timedelta64[s]")
    latest = _naive(end) - np.timedelta64(1, "s")
    cancelled_at = np.maximum(np.minimum(placed + delay, latest), placed)
    return Orders(
        customer=buyer,
        operational_day=day,
        number=np.arange(100001, 100001 + count, dtype=np.int64),
        status=status.tolist(),
        subtotal_cents=subtotal,
        discount_cents=discount,
        shipping_cents=shipping,
        total_cents=total,
        refunded_cents=refunded,
        coupon=coupon,
        country=country,
        carrier=carrier,
        placed_at=placed,
        cancelled_at=np.where(cancelled, cancelled_at, np.datetime64("NaT", "s")),
        updated_at=placed,
        first_item=first_item,
    )


def _tracking_number(carrier: str, digits: int) -> str:
    """A tracking number in the carrier's own format."""
    if carrier == "Colissimo":
        return f"6A{digits % 10**11:011d}"
    if carrier == "Chronopost":
        return f"XY{digits % 10**9:09d}FR"
    if carrier == "Mondial Relay":
        return f"{digits % 10**8:08d}"
    if carrier == "DPD":
        return f"{digits % 10**14:014d}"
    return f"1Z{digits % 36**8:012X}{digits % 10**4:04d}"


def _seconds(values: Floats | Ints) -> NDArray[np.timedelta64]:
    return np.asarray(values).astype(np.int64).astype("timedelta64[s]")


# A late parcel drives customers away: a customer who does not order again within a year
# (operational days) had her parcel late this many times as often as one who does. Drawn this
# way round (lateness given the customer's future, rather than the future thinned after a late
# parcel) so that counts and amounts still depend on the seed only, never on the calendar.
LATE_WITHOUT_RETURN = 2.5
RETURN_WITHIN_DAYS = 365.0


def _comes_back(orders: Orders) -> Bools:
    """Whether each order's customer orders again within ``RETURN_WITHIN_DAYS`` after it."""
    by_customer = np.lexsort((orders.operational_day, orders.customer))
    customer = orders.customer[by_customer]
    day = orders.operational_day[by_customer]
    gap = np.full(customer.size, np.inf)
    same = customer[1:] == customer[:-1]
    gap[:-1][same] = (day[1:] - day[:-1])[same]
    back = np.zeros(customer.size, dtype=bool)
    back[by_customer] = gap <= RETURN_WITHIN_DAYS
    return back


def _shipments(rng: np.random.Generator, orders: Orders, end: dt.datetime) -> Shipments:
    count = orders.count
    processing_hours = np.minimum(2.0 + rng.gamma(2.0, 7.0, count), 72.0)
    on_time_draw = rng.random(count)
    late_draw = rng.random(count)
    late_days = np.minimum(rng.geometric(0.45, count), 8)
    delivery_hour = rng.uniform(7.0, 17.0, count)
    fate = rng.random(count)
    digits = rng.integers(0, 2**62, count)
    kept = np.array([s != "cancelled" for s in orders.status], dtype=bool)
    carriers = orders.carrier

    placed = orders.placed_at
    shipped = placed + _seconds(processing_hours * 3600)
    # Nothing leaves the warehouse on Sundays.
    shipped = shipped + _seconds(np.where(_calendar_parts(shipped)[2] == 6, 86400, 0))
    ship_day: Times = shipped.astype("datetime64[D]").astype("datetime64[s]")
    transit = np.array([c.transit_days for c in carriers], dtype=np.int64)
    promised: Times = ship_day + _seconds(transit * 86400 + 18 * 3600)

    # About 10% late overall, most of them in the Black Friday to Christmas rush.
    month, mday, _, _ = _calendar_parts(placed)
    rush = ((month == 11) & (mday >= 20)) | (month == 12)
    sales = ((month == 1) & (mday >= 8)) | ((month == 6) & (mday >= 24)) | (month == 7)
    reliability = np.array([c.lateness for c in carriers])
    weight = np.where(rush, 3.0, np.where(sales, 1.5, 1.0)) * reliability
    weight *= np.where(_comes_back(orders), 1.0, LATE_WITHOUT_RETURN)
    mean_weight = float(weight[kept].mean()) if kept.any() else 1.0
    probability = np.minimum(0.10 * weight / mean_weight, 0.6)
    late = late_draw < probability
    on_time_days = 1 + np.floor(on_time_draw * transit).astype(np.int64)
    days = np.where(late, transit + late_days, on_time_days)
    delivered = ship_day + _seconds(days * 86400 + np.floor(delivery_hour * 3600))

    now = _naive(end)
    refunded = np.array([s == "refunded" for s in orders.status], dtype=bool)
    lost = refunded & (fate < 0.2)
    returned = refunded & (fate >= 0.2) & (fate < 0.4)
    status = np.full(count, "delivered", dtype=object)
    status[delivered > now] = "in_transit"
    status[returned] = "returned"
    status[lost] = "lost"
    status[shipped > now] = "pending"
    nat = np.datetime64("NaT", "s")
    index = np.flatnonzero(kept)
    return Shipments(
        order=index.astype(np.int64),
        carrier=[carriers[i].name for i in index.tolist()],
        method=[carriers[i].method for i in index.tolist()],
        tracking_number=[
            _tracking_number(carriers[i].name, int(digits[i])) for i in index.tolist()
        ],
        status=[str(s) for s in status[index].tolist()],
        shipped_at=np.where(status == "pending", nat, shipped)[index],
        promised_at=promised[index],
        delivered_at=np.where(status == "delivered", delivered, nat)[index],
    )


def _settle(orders: Orders, shipments: Shipments, end: dt.datetime) -> Orders:
    """Order statuses and last-change times once the parcels' fates are known."""
    count = orders.count
    latest = _naive(end) - np.timedelta64(1, "s")
    parcel = np.full(count, "", dtype=object)
    parcel[shipments.order] = shipments.status
    promised = np.full(count, np.datetime64("NaT", "s"))
    promised[shipments.order] = shipments.promised_at
    shipped = np.full(count, np.datetime64("NaT", "s"))
    shipped[shipments.order] = shipments.shipped_at
    delivered = np.full(count, np.datetime64("NaT", "s"))
    delivered[shipments.order] = shipments.delivered_at

    status = np.array(orders.status, dtype=object)
    open_orders = status == "placed"
    status[open_orders & (parcel == "pending")] = "paid"
    status[open_orders & (parcel != "pending")] = "fulfilled"

    updated = orders.placed_at.copy()
    updated = np.where(np.isnat(shipped), updated, np.maximum(updated, shipped))
    updated = np.where(np.isnat(delivered), updated, np.maximum(updated, delivered))
    refund_at = np.minimum(promised + np.timedelta64(10, "D"), latest)
    touched = orders.refunded_cents > 0
    updated = np.where(touched, np.maximum(updated, refund_at), updated)
    cancelled = status == "cancelled"
    updated = np.where(cancelled, orders.cancelled_at, updated)
    return replace(orders, status=[str(s) for s in status.tolist()], updated_at=updated)


def _email_local(first: str, last: str, style: int) -> str:
    def fold(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(ch for ch in plain.lower() if ch.isalnum())

    f, lname = fold(first), fold(last)
    if style == 0:
        return f"{f}.{lname}"
    if style == 1:
        return f"{f[:1]}{lname}"
    if style == 2:
        return f"{lname}.{f}"
    return f"{f}{lname[:1]}"


def _customer_columns(
    rng: np.random.Generator, people: _People, orders: Orders, end: dt.datetime
) -> Customers:
    customers = len(people.first_name)
    latest = _naive(end) - np.timedelta64(1, "s")
    first_order = np.full(customers, np.datetime64("NaT", "s"))
    last_order = np.full(customers, np.datetime64("NaT", "s"))
    # Orders are in time order: the first write per customer is her first order, the last
    # write her last one.
    first_order[orders.customer[::-1]] = orders.placed_at[::-1]
    last_order[orders.customer] = orders.placed_at
    created = first_order - _seconds(rng.uniform(120.0, 2700.0, customers))
    first_seen = created - _seconds(np.minimum(rng.exponential(3.0, customers), 30.0) * 86400)
    last_seen = np.maximum(
        np.minimum(last_order + _seconds(rng.exponential(5.0, customers) * 86400), latest),
        last_order,
    )
    style = rng.integers(0, 4, customers).tolist()
    domain = rng.choice(len(EMAIL_DOMAINS), size=customers, p=(0.5, 0.2, 0.3)).tolist()
    emails = [
        f"{_email_local(f, lname, s)}{n + 1}@{EMAIL_DOMAINS[d]}"
        for n, (f, lname, s, d) in enumerate(
            zip(people.first_name, people.last_name, style, domain, strict=True)
        )
    ]
    # Phone numbers only from the range ARCEP keeps for fiction (06 39 98 xx xx), each once.
    wants_phone = np.array([c == "FR" for c in people.country]) & (rng.random(customers) < 0.4)
    holders = np.flatnonzero(wants_phone)[:10000]
    suffixes = rng.permutation(10000)[: holders.size]
    phone: list[str | None] = [None] * customers
    for holder, suffix in zip(holders.tolist(), suffixes.tolist(), strict=True):
        phone[holder] = f"+3363998{suffix:04d}"
    channel = rng.choice(len(CHANNELS), size=customers, p=CHANNEL_SHARES).tolist()
    return Customers(
        first_name=people.first_name,
        last_name=people.last_name,
        email=emails,
        phone=phone,
        locale=people.locale,
        country=people.country,
        city=people.city,
        timezone=[TIMEZONES[c] for c in people.country],
        channel=[CHANNELS[c] for c in channel],
        newsletter=rng.random(customers) < 0.45,
        created_at=created,
        first_seen_at=first_seen,
        last_seen_at=last_seen,
    )
