// Sorting, filtering and (in a one-file export) page switching. No dependencies.
(function () {
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    var num = parseFloat(raw);
    return raw !== "" && !isNaN(num) && /^-?[\d.]+(e-?\d+)?$/i.test(raw) ? num : raw.toLowerCase();
  }
  // Wires up sorting, filtering and call/timeline links inside ``root`` (the document, or an
  // export page just unpacked).
  function init(root) {
  root.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.addEventListener("click", function () {
        var index = Array.prototype.indexOf.call(th.parentNode.children, th);
        var asc = !th.classList.contains("asc");
        table.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index), y = cellValue(b, index);
          if (x === y) return 0;
          if (x === "" || x === "n/a") return 1;
          if (y === "" || y === "n/a") return -1;
          return (x < y ? -1 : 1) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  root.querySelectorAll("[data-filter-for]").forEach(function (box) {
    var table = (root.querySelector ? root : document).querySelector("#" + box.getAttribute("data-filter-for")) || document.getElementById(box.getAttribute("data-filter-for"));
    var text = box.querySelector("input[type=search]");
    var flags = box.querySelectorAll("input[type=checkbox][data-flag]");
    var count = box.querySelector(".count");
    function apply() {
      var needle = text ? text.value.toLowerCase() : "";
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var ok = !needle || row.textContent.toLowerCase().indexOf(needle) >= 0;
        flags.forEach(function (flag) {
          if (flag.checked && row.getAttribute("data-" + flag.getAttribute("data-flag")) !== "1") ok = false;
        });
        row.style.display = ok ? "" : "none";
        if (ok) shown += 1;
      });
      if (count) count.textContent = shown + " shown";
    }
    if (text) text.addEventListener("input", apply);
    flags.forEach(function (flag) { flag.addEventListener("change", apply); });
    apply();
  });
  // A call and its timeline bar point at each other: hovering a call outlines its bar, and
  // clicking a bar opens that call in the list below.
  root.querySelectorAll("details.call[data-call]").forEach(function (call) {
    var scope = call.closest("section.page") || document;
    var bar = scope.querySelector('#timeline g.call[data-call="' + call.getAttribute("data-call") + '"]');
    if (!bar) return;
    call.addEventListener("mouseenter", function () { bar.classList.add("hilite"); });
    call.addEventListener("mouseleave", function () { bar.classList.remove("hilite"); });
    bar.style.cursor = "pointer";
    bar.addEventListener("click", function () {
      call.open = true;
      call.scrollIntoView({ block: "center" });
    });
  });
  }
  init(document);
  // The one-file export holds every page as a <section>; the address's #hash picks one. Item
  // pages are packed (deflate + base64 in a script element) and unpacked on first view.
  var first = document.querySelector("section.page");
  if (first) {
    var unpack = function (data) {
      var bytes = Uint8Array.from(atob(data), function (c) { return c.charCodeAt(0); });
      var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
      return new Response(stream).text();
    };
    var activate = function (target) {
      document.querySelectorAll("section.page").forEach(function (p) {
        p.classList.toggle("active", p === target);
      });
      document.title = (target.getAttribute("data-title") || "agot") + " · agot view";
      window.scrollTo(0, 0);
    };
    var show = function () {
      var id = (location.hash || "#runs").slice(1);
      var target = document.getElementById(id);
      var packed = target ? null : document.getElementById("z-" + id);
      if (packed) {
        unpack(packed.textContent).then(function (html) {
          if (!document.getElementById(id)) {
            var holder = document.createElement("div");
            holder.innerHTML = html;
            var section = holder.firstElementChild;
            packed.parentNode.insertBefore(section, packed);
            init(section);
          }
          if ((location.hash || "#runs").slice(1) === id) activate(document.getElementById(id));
        });
        return;
      }
      activate(target || first);
    };
    window.addEventListener("hashchange", show);
    show();
  }
  // A run still in progress: reload every 5 s to show new rows, unless the reader is busy
  // (typing a filter, a box ticked, a call or graph unfolded, or scrolled down the page).
  var live = document.querySelector("main[data-live]");
  if (live) {
    setInterval(function () {
      var busy = Array.prototype.some.call(document.querySelectorAll("input"), function (i) {
        return (i.type === "search" && i.value) || (i.type === "checkbox" && i.checked);
      }) || document.querySelector("details[open]") || window.scrollY > 200;
      if (!busy) location.reload();
    }, 5000);
  }
  // Item pages: j/→ next item, k/← previous, u up to the run, g/t/c jump to the graph, the
  // timeline or the calls (not while typing in a box).
  var KEYS = { ArrowRight: "j", ArrowLeft: "k" };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (/^(input|textarea|select)$/i.test(event.target.tagName)) return;
    var key = KEYS[event.key] || event.key;
    var page = document.querySelector("section.page.active") || document;
    var nav = page.querySelector("nav[data-keys]");
    if (!nav) return;
    var link = nav.querySelector('a[data-key="' + key + '"]');
    if (link) { event.preventDefault(); link.click(); return; }
    var spot = { g: "graph-top", t: "timeline", c: "calls" }[key];
    var target = spot && page.querySelector("#" + spot);
    if (target) { event.preventDefault(); target.scrollIntoView({ block: "start" }); }
  });
  var form = document.getElementById("compare-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      if (form.querySelectorAll("input[name=run]:checked").length < 2) {
        event.preventDefault();
        var note = document.getElementById("compare-note");
        if (note) note.textContent = "pick at least two runs to compare";
      }
    });
  }
})();
