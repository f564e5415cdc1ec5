"""Notebooks as a learner meets them: JupyterLab in headless chromium, Run All, then look.

Each test opens a notebook as shipped, runs every cell through JupyterLab's own command,
waits until the kernel has run them all, and fails on an error output, a missing plot, or a
widget that does not render or does not respond. Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .conftest import REPO, LabServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_S = 180.0

# One snapshot of the open notebook: the cell model (execution counts, output types) and the
# rendered DOM (prompts, error/stderr outputs, loaded images, widget views).
SNAPSHOT_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const nb = panel.content;
  const cells = [];
  for (let i = 0; i < nb.model.cells.length; i++) {
    const m = nb.model.cells.get(i);
    if (m.type !== 'code') continue;
    const outs = [];
    for (let j = 0; j < m.outputs.length; j++) outs.push(m.outputs.get(j).type);
    const w = nb.widgets[i];
    cells.push({index: i, count: m.executionCount,
                prompt: w.node.querySelector('.jp-InputPrompt')?.textContent ?? '',
                outputs: outs, source: m.sharedModel.getSource().slice(0, 80)});
  }
  const errors = [...nb.node.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],' +
      '.jp-RenderedText[data-mime-type*="error"]')].map(e => e.textContent.slice(0, 600));
  const loaded = img => img.complete && img.naturalWidth > 0;
  const imgs = [...nb.node.querySelectorAll('.jp-RenderedImage img')];
  const inWidget = img => !!img.closest('.jupyter-widgets, .widget-output');
  return {
    kernel: panel.sessionContext.session?.kernel?.status ?? 'none',
    cells, errors,
    plots: imgs.filter(i => !inWidget(i) && loaded(i)).length,
    images: imgs.map(i => ({inWidget: inWidget(i), loaded: loaded(i), width: i.naturalWidth,
                            cls: i.closest('.jp-OutputArea-output')?.className})),
    // The course uses no LaTeX: typeset math in a markdown cell means two bare `$` (prices).
    math: [...nb.node.querySelectorAll('.jp-MarkdownCell')]
        .filter(c => c.querySelector('mjx-container, .MathJax'))
        .map(c => c.querySelector('.jp-RenderedMarkdown')?.textContent.slice(0, 160) ?? ''),
    widgetViews: nb.node.querySelectorAll('.jupyter-widgets').length,
    widgetProblems: [...nb.node.querySelectorAll('.jp-OutputArea-output')]
        .map(e => e.textContent).filter(t => /Error displaying widget|Loading widget/.test(t)),
  };
}"""

FIRST_SCREEN_JS = """() => ({
  dialogs: [...document.querySelectorAll('.jp-Dialog')].map(d => d.textContent.slice(0, 300)),
  toasts: [...document.querySelectorAll('.Toastify__toast')].map(t => t.textContent.slice(0, 300)),
})"""


@dataclass
class NotebookRun:
    """What the browser showed after Run All (a snapshot) plus the timings."""

    path: str
    snapshot: dict[str, Any]
    first_screen: dict[str, Any]
    seconds_to_open: float
    seconds_to_run: float

    def assert_clean_first_screen(self) -> None:
        """No dialog and no notification toast (news prompt, update nag, error) on opening."""
        assert not self.first_screen["dialogs"], f"dialog on first screen: {self.first_screen}"
        assert not self.first_screen["toasts"], f"toast on first screen: {self.first_screen}"

    def assert_ran_without_errors(self) -> None:
        """Every code cell has an execution count; no error or stderr output anywhere."""
        snap = self.snapshot
        unrun = [c for c in snap["cells"] if c["count"] is None]
        errored = [c for c in snap["cells"] if "error" in c["outputs"]]
        assert not errored and not snap["errors"], (
            f"{self.path}: error output in cells {[c['index'] for c in errored]}:\n"
            + "\n---\n".join(snap["errors"])
        )
        never = [(c["index"], c["source"]) for c in unrun]
        assert not unrun, f"{self.path}: cells never ran: {never}"

    def assert_no_accidental_math(self) -> None:
        """No markdown turned into LaTeX: `$0.33 ... $15` renders as italic math soup."""
        assert not self.snapshot["math"], (
            f"{self.path}: markdown rendered as LaTeX math (two bare `$` in one paragraph; "
            f"write USD 0.33, or \\\\$ in the markdown source: JupyterLab 4.6 still typesets "
            f"some \\$...\\$ pairs): {self.snapshot['math']}"
        )

    def assert_plots(self, expected: int) -> None:
        """At least `expected` inline plots rendered as loaded <img> elements."""
        got = self.snapshot["plots"]
        assert got >= expected, (
            f"{self.path}: {got} rendered plot images, expected {expected}: "
            f"{self.snapshot['images']}"
        )


def expected_inline_plots(notebook: str) -> int:
    """How many PNG outputs the solution counterpart stores (labs ship without outputs)."""
    solution = REPO / "solutions" / Path(notebook).name
    nb = nbformat.read(solution, as_version=4)
    return sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )


def open_and_run(
    page: Any, server: LabServer, path: str, workspace: str, artifacts: Path
) -> NotebookRun:
    """Open `path` in its own workspace, Run All, and wait until no cell is pending.

    Keeps `<workspace>-first-screen.png`: the notebook as a learner first sees it.
    """
    start = time.perf_counter()
    page.goto(server.url(path, workspace))
    page.wait_for_function(
        "() => window.jupyterapp?.shell?.currentWidget?.content?.model?.cells?.length > 0"
        " && window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel?.status"
        " === 'idle'",
        timeout=60_000,
    )
    # The first screen a learner sees, before anything runs (give toasts a moment to appear).
    page.wait_for_timeout(1500)
    first_screen = page.evaluate(FIRST_SCREEN_JS)
    screenshot(page, artifacts, f"{workspace}-first-screen")
    opened = time.perf_counter() - start

    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    # Run All marks every queued cell [*]; done when none is pending and the kernel is idle.
    page.wait_for_function(
        """() => {
          const panel = window.jupyterapp.shell.currentWidget;
          const prompts = [...panel.content.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
          return prompts.length > 0 && prompts.every(p => !p.textContent.includes('*'))
            && prompts.some(p => /\\[\\d+\\]/.test(p.textContent))
            && panel.sessionContext.session?.kernel?.status === 'idle';
        }""",
        timeout=RUN_TIMEOUT_S * 1000,
        polling=250,
    )
    page.wait_for_timeout(500)  # let the last display messages render
    return NotebookRun(
        path=path,
        snapshot=page.evaluate(SNAPSHOT_JS),
        first_screen=first_screen,
        seconds_to_open=opened,
        seconds_to_run=time.perf_counter() - start - opened,
    )


def image_src(page: Any, selector: str) -> str:
    """The src of the (first) widget image once it has loaded; fails if it never renders."""
    page.wait_for_function(
        f"() => {{ const i = document.querySelector({json.dumps(selector)});"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=30_000,
    )
    return str(page.eval_on_selector(selector, "i => i.src"))


def assert_widget_responds(
    page: Any, image_selector: str, act: Callable[[], None], what: str, timeout_ms: int = 20_000
) -> None:
    """The widget's image is rendered, and changes after `act()` (a learner's input)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before = image_src(page, image_selector)
    act()
    try:
        page.wait_for_function(
            f"() => {{ const i = document.querySelector({json.dumps(image_selector)});"
            f" return i && i.complete && i.naturalWidth > 0 && i.src !== {json.dumps(before)}; }}",
            timeout=timeout_ms,
        )
    except PlaywrightTimeout as exc:
        raise AssertionError(f"widget did not respond to {what}: image unchanged") from exc


def screenshot(page: Any, artifacts: Path, name: str, anchor: str | None = None) -> Path:
    """Scroll `anchor` into view (if given) and keep a viewport screenshot."""
    if anchor:
        page.locator(anchor).first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    target = artifacts / f"{name}.png"
    page.screenshot(path=str(target))
    return target


def assert_no_accidental_math(page: Any, run: NotebookRun, artifacts: Path, name: str) -> None:
    """Fail on markdown typeset as math, after keeping screenshots of (up to 3) such cells."""
    cells = page.locator(".jp-MarkdownCell:has(mjx-container)")
    for i in range(min(cells.count(), 3)):
        cells.nth(i).scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts / f"{name}-math-{i + 1}.png"))
    run.assert_no_accidental_math()


def drag_slider(page: Any, slider: str, dx: float) -> None:
    """Drag a noUiSlider handle (ipywidgets 8 sliders) by `dx` pixels, as a mouse would."""
    handle = page.locator(f"{slider} .noUi-handle").first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    assert box is not None, "slider handle has no box (not rendered?)"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()


def test_landing_page_opens_labs_without_popups(
    page: Any, lab_server: LabServer, artifacts: Path
) -> None:
    """The server's front page (postBuild's default_url) shows labs/, with no dialog or toast."""
    page.goto(f"{lab_server.base_url}/?token={lab_server.token}")
    page.wait_for_function("() => window.jupyterapp?.shell !== undefined", timeout=60_000)
    try:
        page.locator(".jp-DirListing-item", has_text="00_welcome.ipynb").wait_for()
        page.wait_for_timeout(2000)  # the news prompt, if any, is a toast soon after start-up
    finally:
        screenshot(page, artifacts, "landing")
    state = page.evaluate(FIRST_SCREEN_JS)
    assert "/lab/tree/labs" in page.url, page.url
    assert not state["dialogs"] and not state["toasts"], state


def test_lab_09_runs_and_dropdowns_redraw_dashboard(
    page: Any, lab_server: LabServer, artifacts: Path
) -> None:
    path = "labs/09_observability_cost_ledger.ipynb"
    run = open_and_run(page, lab_server, path, "lab09", artifacts)
    run.assert_clean_first_screen()
    run.assert_ran_without_errors()
    run.assert_plots(expected_inline_plots(path))
    assert run.snapshot["widgetViews"] > 0 and not run.snapshot["widgetProblems"], run.snapshot

    panel_img = ".widget-output .jp-RenderedImage img"
    assert page.locator(".widget-dropdown select").count() == 2

    def choose_tenant() -> None:
        page.locator(".widget-dropdown select").first.select_option("acme")

    assert_widget_responds(page, panel_img, choose_tenant, "tenant dropdown -> acme")
    screenshot(page, artifacts, "lab09-widget", anchor=".widget-dropdown")
    assert_no_accidental_math(page, run, artifacts, "lab09")
    print(f"[browser] {path}: open {run.seconds_to_open:.1f} s, run {run.seconds_to_run:.1f} s")


def test_solution_04_runs_and_slider_redraws_chart(
    page: Any, lab_server: LabServer, artifacts: Path
) -> None:
    path = "solutions/04_prompt_caching.ipynb"
    run = open_and_run(page, lab_server, path, "sol04", artifacts)
    run.assert_clean_first_screen()
    run.assert_ran_without_errors()
    run.assert_plots(expected_inline_plots(path))
    screenshot(page, artifacts, "sol04-plot", anchor=".jp-RenderedImage img")
    assert run.snapshot["widgetViews"] > 0 and not run.snapshot["widgetProblems"], run.snapshot

    slider = ".widget-slider"
    readout = page.locator(f"{slider} .widget-readout").first
    value_before = readout.text_content()
    assert_widget_responds(
        page, "img.widget-image", lambda: drag_slider(page, slider, 120), "calls/day slider"
    )
    assert readout.text_content() != value_before, "slider readout did not move"
    screenshot(page, artifacts, "sol04-widget", anchor="img.widget-image")
    assert_no_accidental_math(page, run, artifacts, "sol04")
    print(f"[browser] {path}: open {run.seconds_to_open:.1f} s, run {run.seconds_to_run:.1f} s")


def test_checks_catch_a_broken_notebook(page: Any, lab_server: LabServer, artifacts: Path) -> None:
    """Negative control: an error cell, no plot, and a widget wired to nothing all fail."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import io\nimport ipywidgets as widgets\nimport matplotlib.pyplot as plt\n"
            "fig, ax = plt.subplots()\nbuf = io.BytesIO()\nfig.savefig(buf, format='png')\n"
            "plt.close(fig)\ns = widgets.IntSlider()\n"
            "img = widgets.Image(value=buf.getvalue(), format='png')\n"
            "display(widgets.VBox([s, img]))  # nothing observes the slider"
        ),
        nbformat.v4.new_code_cell("raise RuntimeError('injected failure')"),
        nbformat.v4.new_code_cell("print('never runs')"),
        nbformat.v4.new_markdown_cell("Bare: **$0.33** at $3 / $15 per million."),
        # JupyterLab 4.6 still typesets `\$3 / \$15` as math; `\\$` renders a plain `$`.
        nbformat.v4.new_markdown_cell("Escaped: **\\\\$0.33** at \\\\$3 / \\\\$15 per million."),
    ]
    nbformat.write(nb, lab_server.root / "broken.ipynb")

    run = open_and_run(page, lab_server, "broken.ipynb", "negative", artifacts)
    with pytest.raises(AssertionError, match="injected failure"):
        run.assert_ran_without_errors()
    with pytest.raises(AssertionError, match="rendered plot images"):
        run.assert_plots(1)
    with pytest.raises(AssertionError, match="did not respond"):
        assert_widget_responds(
            page,
            "img.widget-image",
            lambda: drag_slider(page, ".widget-slider", 120),
            "slider",
            timeout_ms=3_000,
        )
    # Two bare `$` become LaTeX; the escaped form (the fix) renders as plain dollars.
    assert [t.strip()[:5] for t in run.snapshot["math"]] == ["Bare:"], run.snapshot["math"]
    with pytest.raises(AssertionError, match="LaTeX math"):
        run.assert_no_accidental_math()
    escaped = page.locator(".jp-MarkdownCell", has_text="Escaped:").first.text_content()
    assert "$0.33 at $3 / $15 per million" in (escaped or ""), escaped
