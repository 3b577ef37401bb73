/* losslab web lab: the home page's thumbnails load lazily. Dash's html.Img has no `loading`
 * attribute, so a thumbnail carries its address in data-src and gets its src when it comes
 * within 200 px of the screen. Dash renders pages after load: new images are found as they
 * are added. */
(function () {
  "use strict";

  var PENDING = "img[data-src]:not([src])";

  function show(img) {
    img.setAttribute("src", img.getAttribute("data-src"));
  }

  var near = "IntersectionObserver" in window
    ? new IntersectionObserver(function (entries, observer) {
        entries.forEach(function (entry) {
          if (!entry.isIntersecting) return;
          observer.unobserve(entry.target);
          show(entry.target);
        });
      }, { rootMargin: "200px" })
    : null;

  function watch(node) {
    if (node.nodeType !== 1) return;
    var found = node.matches(PENDING) ? [node] : node.querySelectorAll(PENDING);
    Array.prototype.forEach.call(found, function (img) {
      if (near) near.observe(img);
      else show(img);
    });
  }

  new MutationObserver(function (records) {
    records.forEach(function (record) {
      Array.prototype.forEach.call(record.addedNodes, watch);
    });
  }).observe(document.documentElement, { childList: true, subtree: true });
  watch(document.documentElement);
})();
