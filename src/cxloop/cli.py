"""The ``cxloop`` command line."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from cxloop.config import SettingsError, get_settings
from cxloop.errors import InvalidInput

app = typer.Typer(
    help="cxloop: customer-experience engine for online stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
workspace_app = typer.Typer(help="Workspaces (one per store).", no_args_is_help=True)
user_app = typer.Typer(help="Console users.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(user_app, name="user")
export_app = typer.Typer(help="Exports for warehouses and Spark.", no_args_is_help=True)
app.add_typer(export_app, name="export")
webhook_app = typer.Typer(
    help="Webhooks: stores (Shopify, WooCommerce) and email provider events.", no_args_is_help=True
)
app.add_typer(webhook_app, name="webhook")
import_app = typer.Typer(help="Bulk imports from files.", no_args_is_help=True)
app.add_typer(import_app, name="import")
nps_app = typer.Typer(help="NPS statistics.", no_args_is_help=True)
app.add_typer(nps_app, name="nps")
feedback_app = typer.Typer(help="Feedback verbatims: themes and sentiment.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")
clv_app = typer.Typer(
    help="Customer lifetime value: BG/NBD purchases, Gamma-Gamma spend.", no_args_is_help=True
)
app.add_typer(clv_app, name="clv")
analytics_app = typer.Typer(help="Warehouse, RFM scores and segments.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")
catalog_app = typer.Typer(help="The catalog as shoppers search it.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
assistant_app = typer.Typer(help="The shopping assistant.", no_args_is_help=True)
app.add_typer(assistant_app, name="assistant")
recommend_app = typer.Typer(help="Product recommendations.", no_args_is_help=True)
app.add_typer(recommend_app, name="recommend")


def fail(field: str, message: str) -> NoReturn:
    """Stop the command with one clear line naming the option at fault."""
    raise InvalidInput(field, message)


def emit(document: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")


def _database() -> Any:
    from cxloop.store.runtime import get_database

    return get_database()


@app.command()
def init() -> None:
    """Create the data folder and bring the store's schema up to date."""
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    db = _database()
    typer.echo(f"cxloop home: {settings.home.resolve()}")
    typer.echo(f"store: {db.dialect} (schema up to date)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run background workers in-process.")
    ] = True,
) -> None:
    """Serve the API and the console (with in-process workers by default)."""
    from cxloop.web.server import run_server

    run_server(host=host, port=port, with_worker=worker)


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, max=64, help="Worker threads.")] = 2,
) -> None:
    """Run background workers alone (any number of them on Redis)."""
    from cxloop.wiring import wire
    from cxloop.worker.queue import run_consumer
    from cxloop.worker.registry import load_tasks

    wire()
    load_tasks()
    _database()
    run_consumer(threads)


@workspace_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="The store's name.")],
    locale: Annotated[str, typer.Option(help="fr or en.")] = "fr",
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "EUR",
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "Europe/Paris",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a workspace and print its write key and admin key (shown once)."""
    from pydantic import ValidationError

    from cxloop.workspaces import service
    from cxloop.workspaces.schemas import WorkspaceCreate

    try:
        spec = WorkspaceCreate.model_validate(
            {"name": name, "locale": locale, "currency": currency, "timezone": timezone}
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"--{err['loc'][0]}", err["msg"])
    with _database().session() as session:
        creds = service.create_workspace(session, spec)
    if as_json:
        emit(creds.model_dump())
    else:
        typer.echo(f"workspace: {creds.workspace_id}")
        typer.echo(f"write key: {creds.write_key}")
        typer.echo(f"admin key: {creds.admin_key}  (shown once; keep it secret)")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="The user's email (their login).")],
    password: Annotated[
        str | None, typer.Option(help="Password (10+ characters); read from stdin if omitted.")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    workspace: Annotated[
        list[str] | None, typer.Option("--workspace", "-w", help="Workspace id to join.")
    ] = None,
    role: Annotated[str, typer.Option(help="owner, analyst or agent.")] = "owner",
    locale: Annotated[str | None, typer.Option(help="fr or en.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a console user, optionally a member of workspaces."""
    from cxloop.workspaces import service

    if password is None:
        password = sys.stdin.readline().rstrip("\n")
    with _database().session() as session:
        user = service.create_user(
            session, email=email, password=password, name=name, locale=locale
        )
        for workspace_id in workspace or []:
            service.add_member(session, workspace_id=workspace_id, user=user, role=role)
        result = {"user_id": user.id, "email": user.email, "workspaces": workspace or []}
    if as_json:
        emit(result)
    else:
        typer.echo(f"user {result['email']} created (id {result['user_id']})")


@app.command()
def demo(
    customers: Annotated[
        int, typer.Option(min=1, max=2_000_000, help="How many customers.")
    ] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same store.")] = 1,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the console afterwards.")
    ] = True,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Build a realistic demo store in a fresh workspace, then serve the console."""
    from cxloop.demo.flows import run_demo

    run_demo(
        customers=customers, seed=seed, serve=serve_after, host=host, port=port, as_json=as_json
    )


@export_app.command("parquet")
def export_parquet(
    workspace: Annotated[str, typer.Option(help="Workspace id.")],
    since: Annotated[
        str | None, typer.Option(help="Rewrite only the days from this date on (YYYY-MM-DD, UTC).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Write events, orders and order items as Parquet by day under CXLOOP_HOME/export/."""
    import datetime as dt

    from cxloop.ingest.export import export_parquet as run_export
    from cxloop.progress import progress_bar

    first_day = None
    if since is not None:
        try:
            first_day = dt.date.fromisoformat(since)
        except ValueError:
            fail("--since", f"{since!r} is not a date (YYYY-MM-DD)")
    db = _database()
    with progress_bar(transient=as_json) as report:
        summary = run_export(
            db, workspace, get_settings().home / "export", since=first_day, progress=report
        )
    if as_json:
        emit(summary.as_dict())
    else:
        for key, value in summary.as_dict().items():
            typer.echo(f"{key}: {value}")


class WebhookPlatform(StrEnum):
    """The platforms whose webhooks cxloop receives."""

    shopify = "shopify"
    woocommerce = "woocommerce"
    email = "email"


@webhook_app.command("secret")
def webhook_secret(
    platform: Annotated[
        WebhookPlatform,
        typer.Argument(help="shopify, woocommerce, or email (your email provider's events)."),
    ],
    workspace: Annotated[str, typer.Option(help="Workspace id.")],
    secret: Annotated[
        str | None,
        typer.Argument(help="The platform's webhook signing secret; read from stdin if omitted."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Set the secret a platform signs this workspace's webhooks with."""
    from cxloop.ingest.webhooks import set_secret

    if secret is None:
        secret = sys.stdin.readline().rstrip("\n")
    with _database().session() as session:
        set_secret(session, workspace, platform.value, secret)
    path = f"/webhooks/{platform.value}/{workspace}"
    if as_json:
        emit({"workspace_id": workspace, "platform": platform.value, "path": path})
    else:
        typer.echo(f"{platform.value} webhook secret set; deliveries go to POST {path}")


@analytics_app.command("run")
def analytics_run(
    workspace: Annotated[str, typer.Option(help="Workspace id.")],
    full: Annotated[
        bool, typer.Option("--full", help="Forget the warehouse's copy and load everything again.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Load what changed into the warehouse, score every customer (RFM), write the scores back."""
    from cxloop import analytics
    from cxloop.progress import progress_bar

    db = _database()
    url = get_settings().resolved_analytics_url
    with progress_bar(transient=as_json) as report:
        summary = analytics.run_analytics(db, url, workspace, full=full, progress=report)
    if as_json:
        emit(summary.as_dict())
        return
    typer.echo(f"loaded: {summary.sync.rows}")
    typer.echo(f"customers scored: {summary.customers}")
    for name, count in summary.segments.items():
        typer.echo(f"  {name}: {count}")


FileArg = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The file to import.")
]
WorkspaceOpt = Annotated[str, typer.Option(help="Workspace id.")]
SkipOpt = Annotated[
    bool, typer.Option("--skip-bad-rows", help="Import the good rows and report the bad ones.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def _import(kind: str, file: Path, workspace: str, skip_bad_rows: bool, as_json: bool) -> None:
    from cxloop.ingest import imports
    from cxloop.progress import progress_bar

    db = _database()
    with db.session() as session:
        defaults = imports.defaults_of(session, workspace)
    with progress_bar() as progress:
        parsed = imports.read_file(
            kind, file, defaults, skip_bad_rows=skip_bad_rows, progress=progress
        )
        with db.session() as session:
            report = imports.apply(session, workspace, parsed, progress=progress)
    if kind == "orders":
        # A large import re-scores its workspace in the worker (incrementally).
        from cxloop.analytics.tasks import after_import

        after_import(workspace, report.imported + report.updated)
    if as_json:
        emit(report.as_dict())
        return
    typer.echo(
        f"{file}: {report.imported} imported, {report.updated} updated, "
        f"{len(report.skipped)} skipped"
    )
    for skipped in report.skipped:
        typer.echo(f"  skipped line {skipped.line}: {skipped.reason}")


@import_app.command("customers")
def import_customers(
    file: FileArg, workspace: WorkspaceOpt, skip_bad_rows: SkipOpt = False, as_json: JsonOpt = False
) -> None:
    """Import customers from CSV (docs/imports.md)."""
    _import("customers", file, workspace, skip_bad_rows, as_json)


@import_app.command("orders")
def import_orders(
    file: FileArg, workspace: WorkspaceOpt, skip_bad_rows: SkipOpt = False, as_json: JsonOpt = False
) -> None:
    """Import orders from CSV, one row per order line (docs/imports.md)."""
    _import("orders", file, workspace, skip_bad_rows, as_json)


@import_app.command("catalog")
def import_catalog(
    file: FileArg, workspace: WorkspaceOpt, skip_bad_rows: SkipOpt = False, as_json: JsonOpt = False
) -> None:
    """Import products from CSV or a Google Merchant Center feed (XML or TSV)."""
    _import("catalog", file, workspace, skip_bad_rows, as_json)


@nps_app.command("stats")
def nps_stats(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="CSV with a 'score' column (0-10)."
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Print the NPS of a CSV's 'score' column with its 95% adjusted-Wald interval."""
    from cxloop.surveys.stats import WARNING_TEXT, nps_summary, read_scores

    def one_decimal(value: float | None) -> float | None:
        return None if value is None else round(value, 1) + 0.0  # + 0.0: no "-0.0"

    summary = nps_summary(read_scores(file))
    ci95 = [one_decimal(bound) for bound in summary.ci95] if summary.ci95 is not None else None
    document = {
        "n": summary.n,
        "promoters": summary.promoters,
        "passives": summary.passives,
        "detractors": summary.detractors,
        "nps": one_decimal(summary.nps),
        "ci95": ci95,
        "margin": one_decimal(summary.margin),
        "warning": summary.warning,
    }
    if as_json:
        emit(document)
        return
    n = summary.n or 1
    typer.echo(f"answers     {summary.n:>7}")
    for label, count in (
        ("promoters", summary.promoters),
        ("passives", summary.passives),
        ("detractors", summary.detractors),
    ):
        typer.echo(f"{label:<11} {count:>7}  {100 * count / n:5.1f}%")
    if ci95 is not None:
        typer.echo(
            f"NPS         {document['nps']:>7}  95% interval {ci95[0]} to {ci95[1]} "
            f"(±{document['margin']})"
        )
    if summary.warning is not None:
        typer.echo(f"warning: {WARNING_TEXT[summary.warning]}")


@feedback_app.command("tag")
def feedback_tag(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV with 'id' and 'text' columns, and optionally 'lang' (fr, en, or de, "
            "it, es, nl, pt: recognised, not tagged).",
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Tag each verbatim of a CSV with its themes and sentiment (default taxonomy).

    A verbatim in another language than French or English is recognised, not tagged: its
    ``lang`` says which, with no themes and a null sentiment.
    """
    from cxloop.themes import Tagger
    from cxloop.themes.verbatims import read_verbatims

    rows = read_verbatims(file)
    tagger = Tagger()
    taggings = tagger.tag_many([row.text for row in rows], [row.lang for row in rows])
    if as_json:
        emit(
            [
                {
                    "id": row.id,
                    "lang": t.lang,
                    "themes": list(t.themes),
                    "sentiment": t.sentiment if t.tagged else None,
                }
                for row, t in zip(rows, taggings, strict=True)
            ]
        )
        return
    width = max([2, *(len(row.id) for row in rows)])
    typer.echo(f"{'id':<{width}}  lang  sentiment  themes")
    for row, t in zip(rows, taggings, strict=True):
        if not t.tagged:
            typer.echo(f"{row.id:<{width}}  {t.lang:<4}  {'-':>9}  (not tagged: language)")
            continue
        themes = ", ".join(t.themes) or "-"
        typer.echo(f"{row.id:<{width}}  {t.lang:<4}  {t.sentiment:>+9.3f}  {themes}")
    typer.echo(f"{len(rows)} verbatims tagged; embeddings: {tagger.embeddings}")


@feedback_app.command("retag")
def feedback_retag(
    workspace: Annotated[str, typer.Option(help="Workspace id.")],
    as_json: JsonOpt = False,
) -> None:
    """Tag a workspace's answers again with its taxonomy and corrections (e.g. after upgrading)."""
    from cxloop.themes import service as tagging
    from cxloop.workspaces.models import Workspace

    db = _database()
    with db.session() as session:
        if session.get(Workspace, workspace) is None:
            fail("--workspace", f"no workspace {workspace!r}")
    count = tagging.retag_all(db, workspace)
    if as_json:
        emit({"workspace": workspace, "retagged": count})
        return
    typer.echo(f"{count} answers tagged again in {workspace}")


@clv_app.command("fit")
def clv_fit(
    transactions: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV with 'customer_id', 'date' (YYYY-MM-DD) and 'amount' columns (others "
            "ignored).",
        ),
    ],
    calibration_end: Annotated[
        str,
        typer.Option(
            help="Last day of the calibration period (YYYY-MM-DD); the holdout runs from the "
            "next day to the file's last."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimates as JSON.")] = False,
) -> None:
    """Fit BG/NBD and Gamma-Gamma to transactions and compare the holdout (docs/analytics.md)."""
    import datetime as dt

    from cxloop import analytics

    try:
        end = dt.date.fromisoformat(calibration_end)
    except ValueError:
        fail("--calibration-end", f"{calibration_end!r} is not a date (YYYY-MM-DD)")
    try:
        result = analytics.calibrate(transactions, end)
    except InvalidInput as exc:
        if exc.field == "calibration_end":
            fail("--calibration-end", exc.message)
        raise
    bg, gg, holdout = result.purchases, result.spend, result.holdout
    document = {
        "bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "loglik": bg.loglik},
        "gamma_gamma": {
            "p": gg.p if gg else None,
            "q": gg.q if gg else None,
            "gamma": gg.gamma if gg else None,
        },
        "customers": int(result.summary.x.size),
        "holdout": {
            "start": holdout.start.isoformat(),
            "end": holdout.end.isoformat(),
            "weeks": holdout.weeks,
            "groups": [
                {
                    "frequency": group.frequency,
                    "customers": group.customers,
                    "actual_mean": group.actual_mean,
                    "predicted_mean": group.predicted_mean,
                }
                for group in holdout.groups
            ],
            "customers": holdout.customers,
            "actual": holdout.actual,
            "predicted": holdout.predicted,
        },
    }
    if as_json:
        emit(document)
        return
    repeat = int((result.summary.x > 0).sum())
    typer.echo(f"customers    {document['customers']:>7}  ({repeat} bought again by {end})")
    converged = "" if bg.converged else "  (not converged)"
    typer.echo(
        f"BG/NBD       r {bg.r:.4g}  alpha {bg.alpha:.4g}  a {bg.a:.4g}  b {bg.b:.4g}  "
        f"log-likelihood {bg.loglik:.2f}{converged}"
    )
    if gg is None:
        typer.echo("Gamma-Gamma  not fitted: no repeat customer spent anything")
    else:
        typer.echo(
            f"Gamma-Gamma  p {gg.p:.4g}  q {gg.q:.4g}  gamma {gg.gamma:.4g}  "
            f"({gg.customers} customers)"
        )
    typer.echo(
        f"holdout      {holdout.start} to {holdout.end} ({holdout.weeks:.3g} weeks): "
        f"{holdout.actual:.0f} repeat purchases, {holdout.predicted:.1f} predicted"
    )
    typer.echo("frequency  customers  actual  predicted  (mean repeat purchases in the holdout)")
    for group in holdout.groups:
        typer.echo(
            f"{group.frequency:<9}  {group.customers:>9}  {group.actual_mean:>6.3f}  "
            f"{group.predicted_mean:>9.3f}"
        )


@catalog_app.command("search")
def catalog_search(
    query: Annotated[str, typer.Argument(help="What a shopper would type, in French or English.")],
    workspace: Annotated[str, typer.Option(help="Workspace id.")],
    limit: Annotated[int, typer.Option(help="How many products, 1 to 100.")] = 10,
    in_stock: Annotated[
        bool, typer.Option("--in-stock", help="Only products that can ship now.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Search the catalog as the assistant does: filters read from the words, then BM25."""
    from cxloop import assistant
    from cxloop.workspaces import get_workspace

    if not 1 <= limit <= 100:
        fail("--limit", "must be between 1 and 100")
    if not query.strip() or len(query) > 500:
        fail("QUERY", "must hold 1 to 500 characters")
    db = _database()
    with db.session() as session:
        if get_workspace(session, workspace) is None:
            fail("--workspace", f"no workspace {workspace!r}")
        result = assistant.search_catalog(session, workspace, query, limit=limit, in_stock=in_stock)
    found = result.to_json()
    if as_json:
        emit(found)
        return
    understood = ", ".join(f"{k}={v}" for k, v in found["filters"].items()) or "none"
    typer.echo(f"filters: {understood}")
    for product in found["products"]:
        typer.echo(
            f"  {product['id']:<12} {product['price']:>8.2f} {product['currency']}  "
            f"{product['availability']:<12} {product['title']}"
        )


@assistant_app.command("faq-import")
def assistant_faq_import(
    path: Annotated[
        Path, typer.Argument(help="A CSV (question,answer[,lang][,source]) or Markdown file.")
    ],
    workspace: Annotated[str, typer.Option(help="Workspace id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import the assistant's FAQ: replaces the entries of the languages the file brings."""
    from cxloop import assistant
    from cxloop.workspaces import get_workspace

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        fail("PATH", f"no file {str(path)!r}")
    except UnicodeDecodeError:
        fail("PATH", "not UTF-8 text")
    rows = assistant.read_file(path.name, text)
    db = _database()
    with db.session() as session:
        if get_workspace(session, workspace) is None:
            fail("--workspace", f"no workspace {workspace!r}")
        count = assistant.import_faq(session, workspace, rows, actor="cli", source=path.name)
    langs = sorted({row.lang for row in rows})
    if as_json:
        emit({"imported": count, "languages": langs})
        return
    typer.echo(f"imported {count} questions ({', '.join(langs)})")


@recommend_app.command("batch")
def recommend_batch(
    interactions: Annotated[
        Path,
        typer.Option(help="CSV of user_id,item_id[,timestamp,quantity], one line a purchase."),
    ],
    users: Annotated[Path, typer.Option(help="The user ids to recommend for, one a line.")],
    k: Annotated[int, typer.Option(help="Items per user, 1 to 100.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the lists as JSON.")] = False,
) -> None:
    """Train the default model on a file of interactions and print each user's top K items:
    what they will likely buy again, then what they have not bought yet."""
    from cxloop import recommend

    if not 1 <= k <= 100:
        fail("--k", "must be between 1 and 100")
    wanted = recommend.read_users(users)
    if not wanted:
        fail("--users", "no user id in the file")
    data = recommend.read_csv(interactions)
    lists = recommend.recommend_batch(data, list(dict.fromkeys(wanted)), k=k)
    if as_json:
        emit(lists)
        return
    for user, items in lists.items():
        typer.echo(f"{user}: {' '.join(items)}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every refusal into one line on stderr and exit 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="cxloop", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("cxloop: aborted\n")
        sys.exit(130)
    except typer.TyperException as exc:
        # Click's usage errors, as vendored by Typer: help when asked for, else one line.
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            sys.stderr.write(ctx.get_help() + "\n")
            sys.exit(2)
        where = f"{ctx.command_path}: " if ctx is not None else "cxloop: "
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        sys.stderr.write(where + message.replace("\n", " ") + "\n")
        sys.exit(2)
    except InvalidInput as exc:
        sys.stderr.write(f"cxloop: {exc.field}: {exc.message}".replace("\n", " ") + "\n")
        sys.exit(2)
    except SettingsError as exc:
        sys.stderr.write(f"cxloop: {exc}\n")
        sys.exit(2)
    except FileNotFoundError as exc:
        sys.stderr.write(f"cxloop: {exc.filename or exc}: file not found\n")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
