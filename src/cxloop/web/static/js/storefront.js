// The console's store preview: its buttons tell the web SDK what the visitor does (a product
// viewed, added to the cart), as a store's own pages would.
(function () {
  "use strict";
  var script = document.currentScript;
  var status = document.getElementById("shop-status");
  var blocks = document.querySelectorAll(".shop-product-block");
  function product(button) {
    return { product_id: button.getAttribute("data-sku"), sku: button.getAttribute("data-sku"),
             name: button.getAttribute("data-title"), category: button.getAttribute("data-category"),
             price: Number(button.getAttribute("data-price")), currency: button.getAttribute("data-currency") };
  }
  function say(template, title) {
    if (status) status.textContent = template.replace("%(title)s", title);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".shop-view, .shop-add") : null;
    if (!button || !window.cxloop) return;
    var item = product(button);
    if (button.classList.contains("shop-view")) {
      say(script.getAttribute("data-viewed"), item.name);
      Array.prototype.forEach.call(blocks, function (block) {
        block.hidden = false;
        block.setAttribute("data-product-id", item.product_id);
      });
      window.cxloop.track("Product Viewed", item).then(function () { window.cxloop.refresh(); });
    } else {
      say(script.getAttribute("data-added"), item.name);
      item.quantity = 1;
      window.cxloop.track("Product Added", item);
    }
  });
})();
