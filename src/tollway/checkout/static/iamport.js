/*!
 * Tollway IMP SDK: the i'mport V1 browser API (IMP.init, IMP.agency, IMP.request_pay) served by a
 * Tollway gateway. Replace https://cdn.iamport.kr/v1/iamport.js with <gateway>/v1/iamport.js.
 * No dependencies. https://github.com/tollway (Apache-2.0)
 */
(function (global) {
  "use strict";
  var script = document.currentScript;
  var BASE = script && script.src ? script.src.replace(/\/v1\/iamport\.js(\?.*)?$/, "") : "";
  var ORIGIN = BASE ? new URL(BASE, global.location.href).origin : global.location.origin;
  var PAY_METHODS = ["card", "trans", "vbank", "phone", "samsung", "samsungpay", "kpay", "kakaopay", "payco", "lpay",
    "ssgpay", "tosspay", "cultureland", "smartculture", "happymoney", "booknlife", "point", "wechat",
    "alipay", "unionpay", "tenpay", "naverpay", "applepay", "paypal", "kakao", "chai", "cvs"];
  var state = { userCode: null, tierCode: null, open: null };

  function isMobile() {
    return /Android|iPhone|iPad|iPod|Mobile|Opera Mini|IEMobile/i.test(global.navigator.userAgent || "");
  }

  function failure(params, code, message, impUid) {
    return {
      success: false,
      imp_success: false,
      imp_uid: impUid || null,
      merchant_uid: params && typeof params === "object" && params.merchant_uid != null ? String(params.merchant_uid) : null,
      error_code: code,
      error_msg: message
    };
  }

  // What V1 refuses before any window opens.
  function check(params) {
    if (!state.userCode) return ["NOT_INITIALIZED", "IMP.init(userCode)를 먼저 호출해야 합니다. (call IMP.init first)"];
    if (!params || typeof params !== "object") return ["INVALID_PARAMETER", "결제 파라미터는 객체여야 합니다. (params must be an object)"];
    if (typeof params.merchant_uid !== "string" || !params.merchant_uid) {
      return ["INVALID_PARAMETER", "merchant_uid는 필수입니다. (merchant_uid is required)"];
    }
    if (typeof params.amount !== "number") {
      return ["INVALID_PARAMETER", "amount는 숫자(Number)여야 합니다. 문자열은 받지 않습니다. (amount must be a number, got " +
        JSON.stringify(params.amount) + ")"];
    }
    if (!isFinite(params.amount) || Math.floor(params.amount) !== params.amount || params.amount < 0) {
      return ["INVALID_PARAMETER", "amount는 0 이상의 정수여야 합니다. (amount must be a non-negative integer)"];
    }
    var method = params.pay_method == null ? "card" : params.pay_method;
    if (PAY_METHODS.indexOf(method) < 0) {
      return ["INVALID_PARAMETER", "알 수 없는 pay_method입니다: " + method + " (unknown pay_method)"];
    }
    return null;
  }

  // The only URLs this SDK ever navigates to: http(s), and (for the window) on the gateway itself.
  // A javascript: or data: URL would run in the merchant's page.
  function navigable(url, gatewayOnly) {
    var parsed;
    try { parsed = new URL(String(url), global.location.href); } catch (e) { return null; }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return null;
    if (gatewayOnly && parsed.origin !== ORIGIN) return null;
    return parsed.href;
  }

  function redirectWith(url, result) {
    if (!navigable(url, false)) return false;
    var q = new URLSearchParams({
      imp_uid: result.imp_uid || "",
      merchant_uid: result.merchant_uid || "",
      imp_success: result.imp_success ? "true" : "false"
    });
    if (result.error_code) { q.set("error_code", result.error_code); q.set("error_msg", result.error_msg || ""); }
    global.location.assign(url + (url.indexOf("?") >= 0 ? "&" : "?") + q.toString());
    return true;
  }

  var CANCELED = "사용자에 의해 결제가 취소되었습니다.";

  // The PC window is a modal dialog: the page behind it is inert (focus stays in the window), the
  // window gets the focus, Escape is the buyer's cancel, and the focus returns where it was.
  function openOverlay(url, deliver) {
    var opener = document.activeElement;
    var overlay = document.createElement("div");
    overlay.id = "imp-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "결제창");
    overlay.setAttribute("style", "position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.45)");
    var frame = document.createElement("iframe");
    frame.id = "imp-window";
    frame.name = "imp-window";
    frame.title = "결제창";
    frame.setAttribute("allow", "payment");
    frame.setAttribute("style", "position:absolute;top:50%;left:50%;transform:translate(-50%,-50%);" +
      "width:min(480px,100%);height:min(780px,100%);border:0;border-radius:12px;background:#fff");
    var inerted = [];
    function onMessage(event) {
      // Only the gateway's window, from the gateway's origin, may answer.
      if (event.origin !== ORIGIN || event.source !== frame.contentWindow) return;
      var data = event.data;
      if (!data || data.source !== "tollway") return;
      if (data.type === "imp:resize" && typeof data.height === "number" && isFinite(data.height)) {
        // the window's page fits its content: no large empty frame under a short form
        frame.style.height = "min(" + Math.max(320, Math.ceil(data.height)) + "px,100%)";
        return;
      }
      if (data.type !== "imp:result") return;
      close();
      deliver(data.result);
    }
    function onKey(event) {
      // Escape while the focus is on this page (the window's own pages handle it inside): the
      // gateway records the buyer's cancel and answers through the window as any cancel does.
      if (event.key !== "Escape") return;
      event.preventDefault();
      var q = new URLSearchParams({ code: "PAY_PROCESS_CANCELED", message: CANCELED });
      frame.src = url + "/fail?" + q.toString();
    }
    function close() {
      global.removeEventListener("message", onMessage);
      document.removeEventListener("keydown", onKey, true);
      for (var i = 0; i < inerted.length; i++) inerted[i].removeAttribute("inert");
      if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
      state.open = null;
      if (opener && typeof opener.focus === "function" && document.contains(opener)) opener.focus();
    }
    global.addEventListener("message", onMessage);
    document.addEventListener("keydown", onKey, true);
    frame.addEventListener("load", function () { frame.focus(); });
    frame.src = url;
    overlay.appendChild(frame);
    var siblings = document.body.children;
    for (var j = 0; j < siblings.length; j++) {
      if (!siblings[j].hasAttribute("inert") && siblings[j].tagName !== "SCRIPT") {
        siblings[j].setAttribute("inert", "");
        inerted.push(siblings[j]);
      }
    }
    document.body.appendChild(overlay);
    frame.focus();
    state.open = close;
  }

  function requestPay(params, callback) {
    var settle;
    var promise = typeof callback === "function" ? null : new Promise(function (resolve) { settle = resolve; });
    function deliver(result) {
      if (typeof callback === "function") callback(result); else settle(result);
    }
    var problem = check(params);
    var redirect = !problem && (isMobile() || (params.popup === false && !!params.m_redirect_url));
    function finishEarly(result, trusted) {
      // A URL the gateway refused (not http(s), or off the merchant's allowed origins) is never
      // navigated to: the refusal goes to the callback instead.
      if (redirect && trusted !== false && params.m_redirect_url && redirectWith(params.m_redirect_url, result)) return;
      setTimeout(function () { deliver(result); }, 0);
    }
    if (problem) { finishEarly(failure(params, problem[0], problem[1])); return promise || undefined; }
    if (state.open && !redirect) {
      finishEarly(failure(params, "WINDOW_ALREADY_OPEN", "결제창이 이미 열려 있습니다. (a payment window is already open)"));
      return promise || undefined;
    }
    fetch(BASE + "/checkout/sessions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "omit",
      body: JSON.stringify({ user_code: state.userCode, tier_code: state.tierCode, params: params,
        mode: redirect ? "redirect" : "iframe" })
    }).then(function (response) { return response.json(); }).then(function (body) {
      if (!body || body.code !== 0) {
        var error = (body && body.response) || {};
        var code = error.error_code || "INVALID_PARAMETER";
        finishEarly(failure(params, code, (body && body.message) || "결제창을 열 수 없습니다.", error.imp_uid),
          code !== "INVALID_REDIRECT_URL" && code !== "INVALID_ORIGIN");
        return;
      }
      var checkout = navigable(body.response && body.response.checkout_url, true);
      if (!checkout) {
        finishEarly(failure(params, "INVALID_RESPONSE", "결제 서버의 응답이 올바르지 않습니다. (no gateway window URL)"), false);
        return;
      }
      if (redirect) global.location.assign(checkout);
      else openOverlay(checkout, deliver);
    }).catch(function (e) {
      finishEarly(failure(params, "NETWORK_ERROR", "결제 서버에 연결하지 못했습니다. (" + (e && e.message) + ")"));
    });
    return promise || undefined;
  }

  var IMP = {
    version: "tollway-1",
    init: function (userCode) { state.userCode = userCode; state.tierCode = null; },
    agency: function (userCode, tierCode) { state.userCode = userCode; state.tierCode = tierCode || null; },
    request_pay: requestPay,
    certification: function (params, callback) {
      var result = failure(params, "NOT_SUPPORTED", "본인인증은 Tollway가 지원하지 않습니다. (certification is not supported)");
      if (typeof callback === "function") setTimeout(function () { callback(result); }, 0);
      else return Promise.resolve(result);
    },
    close: function () { if (state.open) state.open(); }
  };
  global.IMP = IMP;
})(window);
