/* Tollway checkout: opens the PG's window (Toss's SDK, or the sandbox's) with the call the page carries. */
(function () {
  "use strict";
  var call = JSON.parse(document.getElementById("call").textContent);
  function fail(code, message) {
    var query = new URLSearchParams({ code: code || "PAY_PROCESS_ABORTED", message: message || "" });
    window.location.replace(call.failUrl + "?" + query.toString());
  }
  if (typeof window.TossPayments !== "function") {
    fail("PG_SDK_UNAVAILABLE", "결제창 스크립트를 불러오지 못했습니다. (the PG's window script did not load)");
    return;
  }
  var toss = window.TossPayments(call.clientKey);
  var open = call.kind === "billing" ? toss.requestBillingAuth : toss.requestPayment;
  Promise.resolve(open.call(toss, call.method, call.params)).catch(function (e) {
    fail(e && e.code === "USER_CANCEL" ? "PAY_PROCESS_CANCELED" : e && e.code, e && e.message);
  });
})();
