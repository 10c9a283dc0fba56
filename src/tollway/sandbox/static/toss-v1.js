/* Tollway sandbox: the buyer's side of Toss's v1 SDK (requestPayment, requestBillingAuth). */
(function () {
  "use strict";
  var src = document.currentScript && document.currentScript.src;
  var base = src ? src.replace(/\/_sandbox\/v1\.js(\?.*)?$/, "") : "";
  function open(kind, clientKey, method, params) {
    var query = new URLSearchParams({clientKey: clientKey, kind: kind, method: method, params: JSON.stringify(params || {})});
    window.location.assign(base + "/_sandbox/window?" + query.toString());
    return new Promise(function () {});
  }
  window.TossPayments = function (clientKey) {
    return {
      requestPayment: function (method, params) { return open("payment", clientKey, method, params); },
      requestBillingAuth: function (method, params) { return open("billing", clientKey, method, params); }
    };
  };
})();
