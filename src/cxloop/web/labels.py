"""What the console shows for a stored code: one translated label per value of each enum
(statuses, touchpoints, channels, segments, event names, survey decisions and reasons, alert
kinds, targets and deliveries), and Babel's names for country and language codes. Templates use
the ``label`` filter."""

from __future__ import annotations

from babel import Locale

from cxloop import i18n


def N_(message: str) -> str:  # noqa: N802 - the name Babel's extractor knows
    """Mark ``message`` for the catalog; it is translated when shown."""
    return message


LABELS: dict[str, dict[str, str]] = {
    "order_status": {
        "placed": N_("placed"),
        "paid": N_("paid"),
        "fulfilled": N_("fulfilled"),
        "cancelled": N_("cancelled"),
        "refunded": N_("refunded"),
    },
    "shipment_status": {
        "pending": N_("pending"),
        "in_transit": N_("in transit"),
        "delivered": N_("delivered"),
        "lost": N_("lost"),
        "returned": N_("returned"),
    },
    "touchpoint": {
        "after_order": N_("after the order"),
        "after_delivery": N_("after delivery"),
        "conversation": N_("after a conversation with the assistant"),
    },
    "trigger": {
        "order_placed": N_("after the order"),
        "shipment_delivered": N_("after delivery"),
    },
    "channel": {
        "email": N_("email"),
        "link": N_("link"),
        "widget": N_("widget"),
        "chat": N_("assistant's chat"),
    },
    "segment": {
        "new": N_("new customer"),
        "returning": N_("returning customer"),
    },
    "category": {
        "detractor": N_("detractor"),
        "passive": N_("passive"),
        "promoter": N_("promoter"),
    },
    "event_type": {
        "identify": N_("identify"),
        "track": N_("action"),
        "page": N_("page view"),
        "screen": N_("screen view"),
        "group": N_("group"),
        "alias": N_("alias"),
    },
    # Segment's e-commerce event names, as the store and the demo send them.
    "event": {
        "Order Completed": N_("Order completed"),
        "Order Updated": N_("Order updated"),
        "Order Cancelled": N_("Order cancelled"),
        "Order Refunded": N_("Order refunded"),
        "Order Shipped": N_("Order shipped"),
        "Order Delivered": N_("Order delivered"),
        "Product Viewed": N_("Product viewed"),
        "Product Added": N_("Product added to cart"),
        "Cart Viewed": N_("Cart viewed"),
        "Checkout Started": N_("Checkout started"),
    },
    "identity": {
        "user_id": N_("customer id"),
        "anonymous_id": N_("anonymous id"),
        "email": N_("email"),
        "phone": N_("phone"),
    },
    "outbox_status": {
        "queued": N_("queued"),
        "sending": N_("sending"),
        "sent": N_("sent"),
        "outbox": N_("kept in the outbox"),
        "failed": N_("failed"),
        "bounced": N_("bounced"),
        "complained": N_("marked as spam"),
    },
    "purpose": {
        "nps_invitation": N_("survey invitation"),
        "nps_reminder": N_("survey reminder"),
        "alert": N_("alert"),
        "journey": N_("journey message"),
        "reply": N_("reply from the team"),
    },
    "run_status": {
        "active": N_("on its way"),
        "waiting": N_("waiting"),
        "done": N_("done"),
        "exited": N_("ended"),
        "converted": N_("goal met"),
        "holdout": N_("held out"),
    },
    "segment_kind": {
        "dynamic": N_("by condition"),
        "static": N_("a list"),
    },
    "segment_change": {
        "entered": N_("entered"),
        "left": N_("left"),
    },
    "follow_up_done": {
        "case": N_("The case is open."),
        "coupon": N_("The coupon is made; it is listed below."),
        "reply": N_("The email is on its way."),
    },
    "journey_status": {
        "draft": N_("draft"),
        "active": N_("on"),
        "paused": N_("paused"),
        "archived": N_("archived"),
    },
    "placement": {
        "home": N_("Home page"),
        "product": N_("Product page"),
        "cart": N_("Cart"),
        "email": N_("Emails"),
        "assistant": N_("Shopping assistant"),
        "similar": N_("Similar products"),
        "upsell": N_("A step up"),
        "recent": N_("Recently viewed"),
    },
    "strategy": {
        "for_you": N_("For you (the best measured model)"),
        "goes_with": N_(
            "Goes with it (the best measured of bought together, similar, best sellers)"
        ),
        "bought_together": N_("Bought together"),
        "similar": N_("Similar products"),
        "upsell": N_("A better product, a price step above"),
        "recently_viewed": N_("Recently viewed"),
        "popular_in_segment": N_("Popular in the customer's segments"),
        "popular_in_persona": N_("Popular in the customer's persona"),
        "popularity": N_("Best sellers"),
    },
    "recommender": {
        "blend": N_("Blend: repeats, then discovery"),
        "buy-again": N_("Buy again"),
        "als": N_("Matrix factorisation (ALS)"),
        "item-knn": N_("Similar buyers (item-kNN)"),
        "popularity": N_("Best sellers of the last 90 days"),
    },
    "campaign_kind": {
        "banner": N_("banner"),
        "message": N_("message"),
    },
    "trigger_kind": {
        "event": N_("an event"),
        "segment": N_("entering a segment"),
        "score": N_("a change of score"),
        "schedule": N_("a schedule"),
    },
    "step_kind": {
        "send": N_("Send"),
        "wait": N_("Wait"),
        "branch": N_("Branch"),
        "coupon": N_("Coupon"),
        "webhook": N_("Webhook"),
        "case": N_("Case"),
        "set": N_("Set a field"),
        "exit": N_("End"),
    },
    "step_outcome": {
        "sent": N_("sent"),
        "created": N_("created"),
        "called": N_("called"),
        "set": N_("set"),
        "waited": N_("waited"),
        "timed_out": N_("waited in vain"),
        "branched": N_("branched"),
        "skipped": N_("not sent"),
        "held": N_("held"),
        "exited": N_("ended"),
    },
    "step_reason": {
        "consent_denied": N_("no consent"),
        "bounced": N_("address bounced"),
        "complained": N_("complained"),
        "suppressed": N_("on the suppression list"),
        "no_address": N_("no address"),
        "frequency_cap": N_("frequency cap reached"),
        "no_provider": N_("no provider set"),
        "quiet_hours": N_("quiet hours"),
        "sms_hours": N_("outside SMS hours"),
    },
    "message_channel": {
        "email": N_("an email"),
        "sms": N_("an SMS"),
        "onsite": N_("an on-site message"),
        "push": N_("a push notification"),
    },
    "coupon_kind": {
        "percent": N_("percent off"),
        "fixed": N_("amount off"),
        "free_shipping": N_("free shipping"),
    },
    "case_status": {
        "open": N_("open"),
        "waiting": N_("waiting for the customer"),
        "closed": N_("closed"),
    },
    "conversation_status": {
        "open": N_("with the assistant"),
        "handoff": N_("waiting for the team"),
        "closed": N_("closed"),
    },
    # What the assistant read in a shopper's message (assistant/data/intents.yaml and the
    # built-in scenarios' keys, which a message that starts or answers them is counted under).
    "assistant_intent": {
        "greet": N_("greeting"),
        "search": N_("product search"),
        "human": N_("asks for a person"),
        "order_status": N_("order status"),
        "delivery_problem": N_("delivery problem"),
        "faq": N_("question"),
        "thanks": N_("thanks"),
        "bye": N_("goodbye"),
        "compare": N_("comparison"),
        "complements": N_("matching products"),
        "coupon": N_("discount code"),
        # What a shopper's message led to beyond the intents read: built-in scenarios and
        # the NPS question asked in the conversation.
        "gift_finder": N_("gift idea"),
        "product_finder": N_("help choosing"),
        "nps": N_("answer to the NPS question"),
        "compensation": N_("compensation"),
    },
    "chat_author": {
        "shopper": N_("Shopper"),
        "assistant": N_("Assistant"),
        "agent": N_("Team"),
    },
    "case_source": {
        "manual": N_("by hand"),
        "journey": N_("a journey"),
        "alert": N_("an alert"),
        "nps": N_("an NPS answer"),
        "assistant": N_("the shopping assistant"),
    },
    "alert_kind": {
        "response": N_("new answers"),
        "silence": N_("no invitation sent"),
        "theme_spike": N_("theme spikes"),
    },
    "alert_target": {
        "email": N_("email"),
        "webhook": N_("webhook"),
        "case": N_("case"),
    },
    "delivery_status": {
        "pending": N_("pending"),
        "sending": N_("sending"),
        "sent": N_("sent"),
        "failed": N_("failed"),
    },
    "decision": {
        "scheduled": N_("scheduled"),
        "sent": N_("sent"),
        "suppressed": N_("not asked"),
    },
    "reason": {
        "eligible": N_("eligible"),
        "sampled_out": N_("outside the sample"),
        "no_channel": N_("no channel to reach them"),
        "no_email_address": N_("no email address"),
        "no_consent": N_("no consent"),
        "throttled": N_("asked recently"),
        "survey_limit": N_("already asked by this survey"),
        "order_cancelled": N_("order cancelled"),
        "order_refunded": N_("order refunded"),
        "order_missing": N_("order gone"),
        "shipment_late": N_("parcel late"),
        "customer_missing": N_("customer gone"),
        "survey_inactive": N_("survey switched off"),
    },
    # RFM segments (cxloop.analytics, docs/rfm.md), best first.
    "rfm_segment": {
        "champions": N_("Champions"),
        "loyal": N_("Loyal"),
        "potential_loyalist": N_("Potential loyalists"),
        "new": N_("New customers"),
        "promising": N_("Promising"),
        "need_attention": N_("Need attention"),
        "about_to_sleep": N_("About to sleep"),
        "at_risk": N_("At risk"),
        "cant_lose": N_("Can't lose them"),
        "hibernating": N_("Hibernating"),
        "lost": N_("Lost"),
    },
    # The three RFM measures, as the customer page names its scores.
    "rfm_score": {
        "r": N_("Recency"),
        "f": N_("Frequency"),
        "m": N_("Monetary value"),
    },
    # How likely a customer is to have stopped buying (the analytics' churn band).
    "churn_band": {
        "low": N_("low risk"),
        "medium": N_("medium risk"),
        "high": N_("high risk"),
    },
    # The propensity model's inputs (analytics/propensity.py FEATURES).
    "propensity_feature": {
        "first_order_value": N_("first order's value"),
        "first_order_items": N_("lines in the first order"),
        "first_order_quantity": N_("items in the first order"),
        "first_order_category": N_("first order's main category"),
        "discount_share": N_("discount on the first order"),
        "coupon_used": N_("coupon on the first order"),
        "shipping_paid": N_("shipping paid on the first order"),
        "channel": N_("channel of the first order"),
        "delivery": N_("first delivery on time or late"),
        "days_late": N_("days the first parcel was late"),
        "early_orders": N_("orders in the first weeks"),
        "early_spend": N_("spend in the first weeks"),
        "nps_score": N_("NPS score in the first weeks"),
    },
    # The groups of the experience-against-revenue page (cxloop.analytics.experience).
    "experience_group": {
        "promoter": N_("Promoters"),
        "passive": N_("Passives"),
        "detractor": N_("Detractors"),
        "on_time": N_("First parcel on time"),
        "late": N_("First parcel late"),
        "q1": N_("1st quarter"),
        "q2": N_("2nd quarter"),
        "q3": N_("3rd quarter"),
        "q4": N_("4th quarter"),
    },
    # The behaviour features personas are found from (cxloop.analytics.personas).
    "persona_feature": {
        "orders": N_("Orders"),
        "basket": N_("Average basket"),
        "recency": N_("Days since the last order"),
        "gap": N_("Days between orders"),
        "discount": N_("Orders with a discount"),
        "late": N_("Orders delivered late"),
        "categories": N_("Categories bought"),
        "main_share": N_("Spend in the main category"),
        "nps": N_("Average NPS score"),
        "answered": N_("Answered a survey"),
    },
    "persona_direction": {
        "higher": N_("higher than all customers"),
        "lower": N_("lower than all customers"),
    },
}


def label(code: object, group: str) -> str:
    """The reader's label for ``code`` in ``group``; the code itself when it has none (a
    store's own event name, a status added later: the labels test names the missing ones)."""
    if code is None or code == "":
        return ""
    text = str(code)
    locale = i18n.current_locale.get()
    if group == "country":
        return str(Locale.parse(locale).territories.get(text.upper(), text))
    if group == "locale":
        language = text.replace("-", "_").split("_")[0].lower()
        return str(Locale.parse(locale).languages.get(language, text))
    known = LABELS.get(group, {}).get(text)
    return i18n.gettext(known) if known is not None else text
