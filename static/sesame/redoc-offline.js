// ReDoc's sidebar always shows Redocly's logo from their CDN (no option turns it off). The
// portal makes no request elsewhere (and its CSP would refuse it): the logo's address is left
// empty, the image fails at once and ReDoc drops it; the link text stays.
(function () {
  "use strict";
  var CDN = "https://cdn.redoc.ly/";
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) { src.set.call(this, String(value).indexOf(CDN) === 0 ? "" : value); },
  });
})();
