"""Email: rendering in French and English, queuing with consent, delivery by SMTP or outbox."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from sqlalchemy import func, select

from cxloop.channels import email
from cxloop.channels.models import OutboundMessage
from cxloop.config import Settings
from cxloop.errors import InvalidInput
from cxloop.profiles import service as profiles
from cxloop.profiles.models import ConsentChange
from cxloop.store.db import Database
from tests.helpers.mail import SCORE_URL, Shop, SmtpServer, invitation_context, queue_invitation


def message(db: Database, message_id: int) -> OutboundMessage:
    with db.session() as session:
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        return row


def score_links(html: str) -> list[str]:
    return re.findall(r'href="(https://shop\.example/s/tok-123\?score=\d+)"', html)


def smtp(server: SmtpServer, **options: str) -> Settings:
    scheme = "smtps" if options.pop("implicit", "") else "smtp"
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return Settings(smtp_url=f"{scheme}://127.0.0.1:{server.port}" + (f"?{query}" if query else ""))


# Rendering -----------------------------------------------------------------------------------


def test_an_invitation_renders_in_french_with_eleven_score_links(shop: Shop) -> None:
    # given the context the survey engine passes
    context = invitation_context(shop)
    # when it is rendered in French
    rendered = email.render("nps_invitation", context, "fr")
    # then subject, question, labels and links are French and complete
    assert rendered.subject == "Chez Lou : votre avis en un clic"
    question = "Quelle est la probabilité que vous recommandiez Chez Lou à un ami ou un collègue ?"
    assert question in rendered.html
    assert question in rendered.text
    assert "Bonjour Zoé," in rendered.text
    assert "0 = Pas du tout probable" in rendered.html
    assert "10 = Très probable" in rendered.html
    assert score_links(rendered.html) == [f"{SCORE_URL}?score={n}" for n in range(11)]
    for n in range(11):
        assert f"{SCORE_URL}?score={n}\n" in rendered.text
    assert f'<a href="{context["unsubscribe_url"]}"' in rendered.html
    assert f"Se désabonner : {context['unsubscribe_url']}" in rendered.text
    # and the CSS is inlined, the @media rules kept for small screens and dark mode
    assert '<td class="score" align="center" width="9%" style="padding: 0 2px;">' in rendered.html
    assert "@media (prefers-color-scheme: dark)" in rendered.html
    assert "max-width: 600px" in rendered.html
    assert '<html lang="fr"' in rendered.html


def test_an_invitation_renders_in_english(shop: Shop) -> None:
    rendered = email.render("nps_invitation", invitation_context(shop), "en-GB")
    assert rendered.subject == "Chez Lou: your opinion in one click"
    assert "How likely are you to recommend Chez Lou to a friend or colleague?" in rendered.text
    assert "0 = Not at all likely" in rendered.html
    assert "10 = Extremely likely" in rendered.html
    assert "Hello Zoé," in rendered.text
    assert '<html lang="en"' in rendered.html


def test_the_survey_texts_given_replace_the_defaults(shop: Shop) -> None:
    rendered = email.render(
        "nps_reminder",
        invitation_context(
            shop,
            subject="Un rappel de Chez Lou",
            intro="Votre colis est arrivé ?",
            question="Nous recommanderiez-vous ?",
            low_label="Jamais",
            high_label="Sans hésiter",
        ),
        "fr",
    )
    assert rendered.subject == "Un rappel de Chez Lou"
    assert "Votre colis est arrivé ?" in rendered.text
    assert "Nous recommanderiez-vous ?" in rendered.html
    assert "0 = Jamais" in rendered.html
    assert "10 = Sans hésiter" in rendered.html


def test_a_reminder_has_its_own_intro_and_subject(shop: Shop) -> None:
    rendered = email.render("nps_reminder", invitation_context(shop, greeting=""), "en")
    assert rendered.subject == "Reminder: your opinion on Chez Lou in one click"
    assert rendered.text.startswith(
        "Hello,\n\nA few days ago we asked for your opinion and have not heard from you yet."
    )
    assert len(score_links(rendered.html)) == 11


def test_user_text_is_escaped_in_html_and_kept_as_is_in_text(shop: Shop) -> None:
    rendered = email.render(
        "nps_invitation",
        invitation_context(shop, store_name='Lou & <Co> "shop"', greeting="<b>Zoé</b>"),
        "en",
    )
    assert "<b>Zoé</b>" not in rendered.html
    assert "&lt;b&gt;Zoé&lt;/b&gt;" in rendered.html
    assert "Lou &amp; &lt;Co&gt;" in rendered.html
    assert "<Co>" not in rendered.html
    assert "Hello <b>Zoé</b>," in rendered.text
    assert rendered.subject == 'Lou & <Co> "shop": your opinion in one click'


@pytest.mark.parametrize(
    ("greeting", "score_url"),
    [
        ("Zoé", SCORE_URL),
        ("", SCORE_URL),
        ('O\'Brien & <Zoé>\xa0"Jr"', "https://shop.example/s/t?lang=fr&x=<1>"),
    ],
)
def test_the_fast_path_renders_exactly_what_a_full_render_gives(
    shop: Shop, greeting: str, score_url: str
) -> None:
    # given two customers of the same survey: the second reuses the rendered skeleton
    email.render("nps_invitation", invitation_context(shop, greeting="Anne"), "fr")
    context = invitation_context(shop, greeting=greeting, score_url=score_url)
    # when rendered, then it is what a full render gives
    fast = email.render("nps_invitation", context, "fr")
    full = email._render_now("nps_invitation", context, "fr")
    assert fast.subject == full.subject
    assert fast.text == full.text
    # (the same HTML; a quote in text or a bracket in an attribute may be escaped where the
    # full render's serializer leaves it as is)
    assert unescape(fast.html) == unescape(full.html)
    assert fast.html.replace("&quot;", '"').replace("&lt;1&gt;", "<1>") == full.html.replace(
        "&quot;", '"'
    )
    assert "<Zoé>" not in fast.html


def test_an_alert_to_the_team_renders_its_lines_and_link() -> None:
    rendered = email.render(
        "alert",
        {
            "subject": "Nouvelle réponse : 3/10",
            "lines": ["Zoé <zoe@example.com>", "« Livraison en retard »"],
            "link": "https://cx.example/w/ws_1/nps",
            "store_name": "Chez Lou",
        },
        "fr",
    )
    assert rendered.subject == "[cxloop] Nouvelle réponse : 3/10"
    assert "Zoé &lt;zoe@example.com&gt;" in rendered.html
    assert "Zoé <zoe@example.com>\n" in rendered.text
    assert "Ouvrir dans la console : https://cx.example/w/ws_1/nps" in rendered.text
    assert 'href="https://cx.example/w/ws_1/nps"' in rendered.html


def test_an_unknown_template_or_a_missing_link_is_refused(shop: Shop) -> None:
    with pytest.raises(InvalidInput) as unknown:
        email.render("newsletter", {}, "fr")
    assert unknown.value.field == "template"
    with pytest.raises(InvalidInput) as missing:
        email.render("nps_invitation", {"store_name": "Chez Lou", "score_url": SCORE_URL}, "fr")
    assert missing.value.message == "missing unsubscribe_url"


# Delivery ------------------------------------------------------------------------------------


def test_an_invitation_is_delivered_over_smtp_with_both_parts_and_unsubscribe_headers(
    db: Database, shop: Shop, smtp_server: SmtpServer
) -> None:
    # given an invitation queued in French
    message_id = queue_invitation(db, shop)
    queued = message(db, message_id)
    assert queued.status == "queued"
    unsubscribe = invitation_context(shop)["unsubscribe_url"]
    # when it is delivered through the SMTP server
    email.deliver(
        db, [message_id], email.sender_for(smtp(smtp_server, **{"from": "nps@shop.example"}))
    )
    # then the server received one message, to the customer, with both parts
    assert [e.rcpt_tos for e in smtp_server.inbox.envelopes] == [["zoe@example.com"]]
    assert smtp_server.inbox.envelopes[0].mail_from == "nps@shop.example"
    received = smtp_server.inbox.messages()[0]
    assert received["To"] == "zoe@example.com"
    assert received["From"] == "Chez Lou <nps@shop.example>"
    assert received["Subject"] == "Chez Lou : votre avis en un clic"
    assert received["Message-ID"] == queued.message_id
    assert re.fullmatch(r"<[0-9a-f]{32}@cxloop>", queued.message_id)
    assert received["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Auto-Submitted"] is None
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    # (SMTP carries lines ending in CRLF)
    assert text.get_content().replace("\r\n", "\n") == queued.text
    assert html.get_content().replace("\r\n", "\n") == queued.html
    assert score_links(html.get_content()) == [f"{SCORE_URL}?score={n}" for n in range(11)]
    assert f'<a href="{unsubscribe}"' in html.get_content()
    assert f"Se désabonner : {unsubscribe}" in text.get_content()
    # and the message is recorded as sent, once
    sent = message(db, message_id)
    assert (sent.status, sent.error) == ("sent", "")
    assert sent.sent_at is not None
    assert sent.from_address == "Chez Lou <nps@shop.example>"


def test_delivering_twice_sends_once(db: Database, shop: Shop, smtp_server: SmtpServer) -> None:
    message_id = queue_invitation(db, shop)
    sender = email.sender_for(smtp(smtp_server))
    email.deliver(db, [message_id], sender)
    first = message(db, message_id).sent_at
    email.deliver(db, [message_id, message_id], sender)
    assert len(smtp_server.inbox.envelopes) == 1
    assert message(db, message_id).sent_at == first


def test_without_an_smtp_url_the_message_stays_in_the_outbox(
    db: Database, shop: Shop, smtp_server: SmtpServer
) -> None:
    # given no CXLOOP_SMTP_URL
    sender = email.sender_for(Settings(smtp_url=None))
    assert isinstance(sender, email.OutboxSender)
    message_id = queue_invitation(db, shop, "en")
    # when it is delivered
    email.deliver(db, [message_id], sender)
    # then it is kept locally, complete, and nothing went out
    kept = message(db, message_id)
    assert (kept.status, kept.error) == ("outbox", "")
    assert kept.sent_at is not None
    assert kept.from_address == "Chez Lou <cxloop@localhost>"
    assert len(score_links(kept.html)) == 11
    assert smtp_server.inbox.envelopes == []


def test_starttls_is_used_when_the_server_offers_it(
    db: Database, shop: Shop, starttls_server: SmtpServer, certificate: Any
) -> None:
    message_id = queue_invitation(db, shop)
    email.deliver(db, [message_id], email.sender_for(smtp(starttls_server, cafile=certificate[0])))
    assert message(db, message_id).status == "sent"
    assert len(starttls_server.inbox.envelopes) == 1


def test_smtps_speaks_tls_from_the_start(
    db: Database, shop: Shop, smtps_server: SmtpServer, certificate: Any
) -> None:
    message_id = queue_invitation(db, shop)
    sender = email.sender_for(smtp(smtps_server, implicit="1", cafile=certificate[0]))
    email.deliver(db, [message_id], sender)
    assert message(db, message_id).status == "sent"
    assert len(smtps_server.inbox.envelopes) == 1


def test_starttls_required_refuses_a_plain_server_and_records_why(
    db: Database, shop: Shop, smtp_server: SmtpServer
) -> None:
    message_id = queue_invitation(db, shop)
    email.deliver(db, [message_id], email.sender_for(smtp(smtp_server, starttls="required")))
    failed = message(db, message_id)
    assert failed.status == "failed"
    assert failed.error == "SendError: the server does not offer STARTTLS (starttls=required)"
    assert failed.sent_at is None
    assert smtp_server.inbox.envelopes == []


def test_an_unreachable_server_fails_the_message_with_its_error(db: Database, shop: Shop) -> None:
    from tests.helpers.services import free_port

    message_id = queue_invitation(db, shop)
    settings = Settings(smtp_url=f"smtp://127.0.0.1:{free_port()}?timeout=2")
    email.deliver(db, [message_id], email.sender_for(settings))
    failed = message(db, message_id)
    assert failed.status == "failed"
    assert failed.error.startswith("ConnectionRefusedError: ")


def test_a_bad_smtp_url_is_refused_naming_the_setting() -> None:
    with pytest.raises(InvalidInput) as bad:
        email.sender_for(Settings(smtp_url="smtp://mail.example:587?tls=yes"))
    assert (bad.value.field, bad.value.message) == ("CXLOOP_SMTP_URL", "unknown option tls")


def test_the_password_never_shows_in_the_senders_repr() -> None:
    sender = email.SmtpSender.from_url("smtp://me%40shop:s3cr%2Ft@mail.example:2525")
    assert (sender.username, sender.port) == ("me@shop", 2525)
    assert repr(sender) == "SmtpSender(smtp://mail.example:2525, starttls=auto)"


# Queuing and consent -------------------------------------------------------------------------


def test_a_customer_who_said_no_is_not_emailed(db: Database, shop: Shop) -> None:
    # given a customer who unsubscribed
    with db.session() as session:
        profiles.set_consent(
            session, shop.workspace_id, shop.customer_id, "email", "denied", source="import"
        )
    # when an invitation is queued
    with pytest.raises(email.Undeliverable) as refused:
        queue_invitation(db, shop)
    # then it is refused with its reason, and nothing is in the outbox
    assert refused.value.reason == "consent_denied"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 0


def test_customer_mail_must_show_the_unsubscribe_link(db: Database, shop: Shop) -> None:
    rendered = email.Rendered(subject="Hi", html="<p>Hi</p>", text="Hi\n")
    with db.session() as session, pytest.raises(InvalidInput) as refused:
        email.queue_email(
            session,
            shop.workspace_id,
            to=shop.email,
            rendered=rendered,
            purpose="nps_invitation",
            related_key="invitation:1",
            customer_id=shop.customer_id,
            unsubscribe_url="https://shop.example/u/abc",
        )
    assert refused.value.message == "both parts must show the unsubscribe link"


def test_a_header_injection_in_the_address_is_refused(db: Database, shop: Shop) -> None:
    rendered = email.render("alert", {"subject": "x"}, "en")
    with db.session() as session, pytest.raises(InvalidInput) as refused:
        email.queue_email(
            session,
            shop.workspace_id,
            to="team@shop.example\r\nBcc: all@example.com",
            rendered=rendered,
            purpose="alert",
            related_key="alert_rule:1",
            customer_id=None,
            unsubscribe_url=None,
        )
    assert refused.value.field == "to"
    with db.session() as session, pytest.raises(InvalidInput) as bad_sender:
        email.queue_email(
            session,
            shop.workspace_id,
            to="team@shop.example",
            rendered=rendered,
            purpose="alert",
            related_key="alert_rule:1",
            customer_id=None,
            unsubscribe_url=None,
            from_address="Lou <lou@shop.example>\r\nBcc: all@example.com",
        )
    assert bad_sender.value.field == "from_address"


def test_team_alerts_are_auto_submitted_and_carry_no_unsubscribe_header(
    db: Database, shop: Shop, smtp_server: SmtpServer
) -> None:
    rendered = email.render("alert", {"subject": "Score 2/10", "lines": ["Zoé"]}, "en")
    with db.session() as session:
        queued = email.queue_email(
            session,
            shop.workspace_id,
            to="team@shop.example",
            rendered=rendered,
            purpose="alert",
            related_key="alert_rule:1",
            customer_id=None,
            unsubscribe_url=None,
            from_address="alerts@shop.example",
        )
        message_id, mid = queued.id, queued.message_id
    email.deliver(db, [message_id], email.sender_for(smtp(smtp_server)))
    received = smtp_server.inbox.messages()[0]
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["List-Unsubscribe"] is None
    assert received["From"] == "alerts@shop.example"
    assert re.fullmatch(r"<[0-9a-f]{32}@shop\.example>", mid)


def test_set_consent_records_each_change_once(db: Database, shop: Shop) -> None:
    with db.session() as session:
        for status in ("granted", "granted", "denied"):
            profiles.set_consent(
                session, shop.workspace_id, shop.customer_id, "sms", status, source="checkout"
            )
    with db.session() as session:
        changes = session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
        customer = profiles.get_customer(session, shop.workspace_id, shop.customer_id)
        assert customer is not None
        assert [(c.channel, c.status, c.source) for c in changes] == [
            ("sms", "granted", "checkout"),
            ("sms", "denied", "checkout"),
        ]
        assert customer.consent["sms"]["status"] == "denied"
        assert customer.consent["sms"]["at"] == changes[1].at.isoformat()
        assert profiles.may_contact(customer, "sms") is False
        # no record: email is allowed, SMS is not
        customer.consent = {}
        assert profiles.may_contact(customer, "email") is True
        assert profiles.may_contact(customer, "sms") is False
