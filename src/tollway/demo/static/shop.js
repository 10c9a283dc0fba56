/* The demo shop's page script (no inline script: the page runs under a strict CSP). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("demo-config").textContent);
  IMP.init(config.userCode);
  document.getElementById("user-code").textContent = "IMP.init(\"" + config.userCode + "\")";
  var orders = JSON.parse(localStorage.getItem("tollway-demo-orders") || "[]");
  var customerUid = localStorage.getItem("tollway-demo-customer") || null;

  function say(text) { document.getElementById("message").textContent = text; }
  function save() { localStorage.setItem("tollway-demo-orders", JSON.stringify(orders)); }
  function uid(prefix) { return prefix + "-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 6); }
  function api(path, body) {
    // The demo's server serves this page only: same origin, and the token this page was given.
    return fetch("/demo/api/" + path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Demo-Token": config.pageToken },
      body: JSON.stringify(body) }).then(function (r) { return r.json(); });
  }
  var METHODS = { card: "카드", trans: "계좌이체", vbank: "가상계좌", phone: "휴대폰", kakaopay: "카카오페이",
    naverpay: "네이버페이", tosspay: "토스페이", payco: "페이코", samsung: "삼성페이", lpay: "엘페이", ssgpay: "SSG페이",
    applepay: "애플페이", cultureland: "문화상품권", smartculture: "게임문화상품권", booknlife: "도서문화상품권" };
  function methodName(m) { return METHODS[m] || m; }
  // V1's status in the shop's words: 결제완료, 부분취소, 입금대기, 실패 (with its reason), 취소.
  function statusName(o) {
    if (o.status === "paid") return o.cancel_amount ? "부분취소" : "결제완료";
    if (o.status === "ready") return o.vbank_num ? "입금대기" : "결제대기";
    if (o.status === "cancelled") return "취소";
    if (o.status === "failed") return "실패";
    return o.status;
  }
  function cell(tr, label, text, className) {
    var td = document.createElement("td");
    td.dataset.label = label;
    if (className) td.className = className;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }
  function cardLabel() {
    var card = JSON.parse(localStorage.getItem("tollway-demo-card") || "null");
    if (!customerUid) return "";
    return card && card.name ? "등록된 카드: " + card.name + " " + (card.number || "") : "카드가 등록되어 있습니다.";
  }

  function render() {
    var body = document.getElementById("orders");
    body.innerHTML = "";
    orders.slice().reverse().forEach(function (o) {
      var tr = document.createElement("tr");
      tr.dataset.merchantUid = o.merchant_uid;
      var detail = o.status === "ready" && o.vbank_num ? " (" + o.vbank_name + " " + o.vbank_num + ")" : "";
      detail += o.card_quota ? " " + o.card_quota + "개월" : "";
      cell(tr, "주문", o.name);
      cell(tr, "금액", (o.amount || 0).toLocaleString("ko-KR") + "원");
      cell(tr, "결제수단", methodName(o.pay_method) + detail);
      var status = cell(tr, "상태", "", "status status-" + o.status);
      status.dataset.status = o.status;
      var text = status.appendChild(document.createElement("div"));
      text.textContent = statusName(o);
      if (o.status === "failed" && o.fail_reason) {
        var reason = document.createElement("span"); reason.className = "reason"; reason.textContent = o.fail_reason;
        text.appendChild(reason);
      }
      var id = cell(tr, "imp_uid", "", "id"); id.appendChild(document.createElement("code")).textContent = o.imp_uid || "";
      var actions = cell(tr, "", "", "actions");
      if (o.status === "paid") {
        var cancel = document.createElement("button"); cancel.textContent = "취소"; cancel.className = "cancel";
        cancel.setAttribute("aria-label", o.name + " 주문 취소");
        cancel.onclick = function () { cancelOrder(o); }; actions.appendChild(cancel);
      }
      if (o.status === "ready" && o.vbank_num) {
        var dep = document.createElement("button"); dep.textContent = "입금하기"; dep.className = "deposit";
        dep.onclick = function () { depositOrder(o); }; actions.appendChild(dep);
      }
      body.appendChild(tr);
    });
    document.getElementById("charge-again").disabled = !customerUid;
    document.getElementById("card-registered").textContent = cardLabel();
  }

  function record(payment) {
    var existing = orders.findIndex(function (o) { return o.imp_uid === payment.imp_uid; });
    var row = { imp_uid: payment.imp_uid, merchant_uid: payment.merchant_uid, name: payment.name, amount: payment.amount,
      pay_method: payment.pay_method, status: payment.status, card_quota: payment.card_quota,
      vbank_num: payment.vbank_num, vbank_name: payment.vbank_name, cancel_amount: payment.cancel_amount,
      fail_reason: payment.fail_reason };
    if (existing >= 0) orders[existing] = row; else orders.push(row);
    save(); render();
  }

  // After the window: never trust the browser; the shop's server looks the payment up.
  function verified(rsp) {
    if (!rsp.imp_uid) { say("결제가 진행되지 않았습니다: " + rsp.error_msg); return; }
    api("verify", { imp_uid: rsp.imp_uid }).then(function (answer) {
      var p = answer.response;
      record(p);
      if (p.status === "paid") say("결제 완료: " + p.name + " " + p.amount.toLocaleString("ko-KR") + "원");
      else if (p.status === "ready" && p.vbank_num) say("가상계좌 발급: " + p.vbank_name + " " + p.vbank_num + " (입금하면 결제 완료)");
      else say("결제 실패: " + (rsp.error_msg || p.fail_reason));
    });
  }

  function pay(params) {
    params.pg = "tosspayments";
    params.m_redirect_url = location.origin + "/demo";
    params.buyer_name = "김커피";
    params.buyer_email = "coffee@example.com";
    params.buyer_tel = "010-1234-5678";
    IMP.request_pay(params, verified);
  }

  document.getElementById("pay-card").onclick = function () {
    pay({ pay_method: "card", merchant_uid: uid("beans"), name: "에티오피아 원두 1kg", amount: 15000 });
  };
  document.getElementById("pay-trans").onclick = function () {
    pay({ pay_method: "trans", merchant_uid: uid("beans"), name: "에티오피아 원두 1kg", amount: 15000 });
  };
  document.getElementById("pay-vbank").onclick = function () {
    pay({ pay_method: "vbank", merchant_uid: uid("beans"), name: "에티오피아 원두 1kg", amount: 15000 });
  };
  document.getElementById("pay-kakaopay").onclick = function () {
    pay({ pay_method: "kakaopay", merchant_uid: uid("beans"), name: "에티오피아 원두 1kg", amount: 15000 });
  };
  document.getElementById("pay-phone").onclick = function () {
    pay({ pay_method: "phone", merchant_uid: uid("beans"), name: "에티오피아 원두 1kg", amount: 15000 });
  };
  // The shop's server issues the account itself (POST /vbanks): no window at all.
  document.getElementById("issue-vbank").onclick = function () {
    api("vbank", { merchant_uid: uid("beans") }).then(function (answer) {
      if (answer.code !== 0) { say("가상계좌 발급 실패: " + answer.message); return; }
      var p = answer.response;
      record(p);
      say("가상계좌 발급: " + p.vbank_name + " " + p.vbank_num + " (입금하면 결제 완료)");
    });
  };
  document.getElementById("pay-installment").onclick = function () {
    pay({ pay_method: "card", merchant_uid: uid("dripper"), name: "핸드드립 세트", amount: 120000,
      display: { card_quota: [2, 3, 6] } });
  };
  document.getElementById("register").onclick = function () {
    var candidate = uid("subscriber");
    IMP.request_pay({ pg: "tosspayments", pay_method: "card", merchant_uid: uid("register"), name: "월간 원두 구독 카드 등록",
      amount: 0, customer_uid: candidate, buyer_name: "김커피", buyer_email: "coffee@example.com",
      m_redirect_url: location.origin + "/demo" }, function (rsp) {
      if (rsp.error_code) { say("카드 등록 실패: " + rsp.error_msg); return; }
      customerUid = rsp.customer_uid;
      localStorage.setItem("tollway-demo-customer", customerUid);
      localStorage.setItem("tollway-demo-card", JSON.stringify({ name: rsp.card_name, number: rsp.card_number }));
      say("카드가 등록되었습니다 (" + rsp.card_name + "). 이제 '이번 달 결제'를 눌러 보세요.");
      render();
    });
  };
  document.getElementById("charge-again").onclick = function () {
    api("again", { customer_uid: customerUid, merchant_uid: uid("month") }).then(function (answer) {
      if (answer.code !== 0) { say("정기결제 실패: " + answer.message); return; }
      if (answer.response.card_name) {  // the card behind the key, as the charge shows it
        localStorage.setItem("tollway-demo-card", JSON.stringify({ name: answer.response.card_name,
          number: answer.response.card_number }));
      }
      record(answer.response);
      say(answer.response.status === "paid" ? "이번 달 구독료 9,900원이 결제되었습니다." : "정기결제 실패: " + answer.response.fail_reason);
    });
  };
  function cancelOrder(o) {
    api("cancel", { imp_uid: o.imp_uid }).then(function (answer) {
      if (answer.code !== 0) { say("취소 실패: " + answer.message); return; }
      record(answer.response); say("취소되었습니다: " + o.name);
    });
  }
  function depositOrder(o) {
    api("deposit", { imp_uid: o.imp_uid }).then(function (answer) {
      if (answer.code !== 0) { say("입금 실패: " + answer.message); return; }
      record(answer.response); say("입금이 확인되어 결제가 완료되었습니다.");
    });
  }

  // Back from a mobile (redirect) payment: m_redirect_url carries imp_uid, merchant_uid, imp_success.
  var query = new URLSearchParams(location.search);
  if (query.get("customer_uid") && query.get("imp_success") === "true") {
    customerUid = query.get("customer_uid");
    localStorage.setItem("tollway-demo-customer", customerUid);
    localStorage.removeItem("tollway-demo-card");  // shown after the first charge
    say("카드가 등록되었습니다.");
  } else if (query.get("imp_uid")) {
    verified({ imp_uid: query.get("imp_uid"), error_msg: query.get("error_msg") });
  } else if (query.get("error_msg")) {
    say("결제가 진행되지 않았습니다: " + query.get("error_msg"));
  }
  render();
})();
