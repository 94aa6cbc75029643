/* Accessibility fixes for the theme's markup, added to every page by
   book/_ext/book_extensions.py. tests/test_browser.py runs axe-core on every
   page (light, dark, phone) and tests/test_accessibility.py checks keyboard use. */

/* Label in name (WCAG 2.5.3): a control's accessible name contains the text it
   shows. The search field shows "Search Ctrl+K" but is labelled "Search", and
   the "Show code cell source" toggles are labelled "Toggle hidden content":
   let their visible text name them. The icons inside labelled buttons (the
   colour-mode button's sun and moon) carry tooltips of their own, which are
   not the button's name: they are decoration. */
function nameControlsByWhatTheyShow() {
  for (const control of document.querySelectorAll(".search-button-field[aria-label], summary[aria-label]")) {
    if (control.textContent.trim()) control.removeAttribute("aria-label");
  }
  for (const icon of document.querySelectorAll("button[aria-label] i[title]")) icon.removeAttribute("title");
  for (const svg of document.querySelectorAll("button[aria-label] svg")) {
    for (const title of svg.querySelectorAll("title")) title.remove();
    svg.removeAttribute("role");
    svg.removeAttribute("aria-labelledby");
    svg.setAttribute("aria-hidden", "true");
  }
}

/* Keyboard access to wide equations (WCAG 2.1.1): a display equation wider
   than the column scrolls sideways, and a keyboard user must be able to reach
   it to scroll it. Only the equations that scroll become focusable (checked
   again when the window is resized), named for what they are. */
function letKeyboardsScrollWideEquations() {
  for (const box of document.querySelectorAll('mjx-container[display="true"]')) {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", "Equation (scrolls sideways)");
      box.dataset.scrolls = "true";
    } else if (!scrolls && box.dataset.scrolls) {
      for (const name of ["tabindex", "role", "aria-label", "data-scrolls"]) box.removeAttribute(name);
    }
  }
}

function whenMathIsTypeset(callback) {
  const start = Date.now();
  (function wait() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(callback);
    } else if (Date.now() - start < 15000) {
      setTimeout(wait, 50);
    }
  })();
}

document.addEventListener("DOMContentLoaded", () => {
  nameControlsByWhatTheyShow();
  // The theme's Font Awesome script turns <i> icons into <svg> after this: run again then.
  window.addEventListener("load", nameControlsByWhatTheyShow);
  if (document.querySelector(".math")) {
    whenMathIsTypeset(() => {
      letKeyboardsScrollWideEquations();
      // Fonts arriving, the window or a sidebar changing size: check again.
      const observer = new ResizeObserver(letKeyboardsScrollWideEquations);
      observer.observe(document.body);
      for (const box of document.querySelectorAll('mjx-container[display="true"]')) {
        observer.observe(box);
        if (box.firstElementChild) observer.observe(box.firstElementChild);
      }
    });
  }
});
