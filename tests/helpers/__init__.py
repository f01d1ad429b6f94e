"""Helpers the tests share: servers, factories, sign-in, browser, mail, webhooks."""
