// Survey page: shows the follow-up question for the chosen score, and tells the server that a
// person (not a mail scanner opening links) is on the page once they interact with it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("survey-form");
  if (!form) return;
  const categories = JSON.parse(document.getElementById("survey-data").textContent).categories;
  const categoryOf = (score) =>
    Object.keys(categories).find((c) => score >= categories[c][0] && score <= categories[c][1]);
  const chosen = () => {
    const input = form.querySelector("input[name=score]:checked");
    return input ? Number(input.value) : null;
  };
  const showFollowup = () => {
    const score = chosen();
    const category = score === null ? "none" : categoryOf(score);
    for (const label of form.querySelectorAll(".followup .question")) {
      label.hidden = !label.classList.contains(`q-${category}`);
    }
  };
  let reported = form.dataset.confirmed === "true";
  const reportHuman = () => {
    const score = chosen();
    // A test page (the survey editor's) records nothing.
    if (reported || score === null || form.dataset.preview) return;
    reported = true;
    fetch(`${form.getAttribute("action")}/seen`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ key: form.dataset.key, score }),
      keepalive: true,
    }).then((r) => { if (r.ok) document.body.dataset.confirmed = "true"; });
  };
  form.addEventListener("change", () => { showFollowup(); reported = false; reportHuman(); });
  // A real interaction, not a page load: scanners load pages, people move, type and tap.
  for (const type of ["pointerdown", "keydown", "touchstart", "focusin"]) {
    document.addEventListener(type, reportHuman, { once: true, passive: true });
  }
  showFollowup();
});
