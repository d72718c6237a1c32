// Search as you type on the catalog page: the search form works without
// this (it submits); with it, the results are replaced as one types.
"use strict";
(function () {
  var form = document.getElementById("search-form");
  var results = document.getElementById("results");
  if (!form || !results) { return; }
  var timer = null, seq = 0;
  form.querySelector("input[type=search]").addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
      var mine = ++seq;
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        if (mine !== seq) { return; }
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("results");
        if (next) { results.replaceWith(next); results = next; history.replaceState(null, "", url); }
      });
    }, 250);
  });
})();
