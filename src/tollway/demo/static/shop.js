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
  function methodName(m) { return { card: "카드", trans: "계좌이체", vbank: "가상계좌" }[m] || m; }

  function render() {
    var body = document.getElementById("orders");
    body.innerHTML = "";
    orders.slice().reverse().forEach(function (o) {
      var tr = document.createElement("tr");
      tr.dataset.merchantUid = o.merchant_uid;
      var detail = o.status === "ready" && o.vbank_num ? " (" + o.vbank_name + " " + o.vbank_num + ")" : "";
      detail += o.card_quota ? " " + o.card_quota + "개월" : "";
      [o.name, (o.amount || 0).toLocaleString("ko-KR") + "원", methodName(o.pay_method) + detail].forEach(function (t) {
        var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
      });
      var status = document.createElement("td");
      status.className = "status status-" + o.status;
      status.textContent = o.status;
      tr.appendChild(status);
      var id = document.createElement("td"); id.innerHTML = "<code></code>"; id.firstChild.textContent = o.imp_uid || "";
      tr.appendChild(id);
      var actions = document.createElement("td");
      if (o.status === "paid") {
        var cancel = document.createElement("button"); cancel.textContent = "취소"; cancel.className = "cancel";
        cancel.onclick = function () { cancelOrder(o); }; actions.appendChild(cancel);
      }
      if (o.status === "ready" && o.vbank_num) {
        var dep = document.createElement("button"); dep.textContent = "입금하기"; dep.className = "deposit";
        dep.onclick = function () { depositOrder(o); }; actions.appendChild(dep);
      }
      tr.appendChild(actions);
      body.appendChild(tr);
    });
    document.getElementById("charge-again").disabled = !customerUid;
    document.getElementById("card-registered").textContent = customerUid ? "등록된 카드: " + customerUid : "";
  }

  function record(payment) {
    var existing = orders.findIndex(function (o) { return o.imp_uid === payment.imp_uid; });
    var row = { imp_uid: payment.imp_uid, merchant_uid: payment.merchant_uid, name: payment.name, amount: payment.amount,
      pay_method: payment.pay_method, status: payment.status, card_quota: payment.card_quota,
      vbank_num: payment.vbank_num, vbank_name: payment.vbank_name };
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
      say("카드가 등록되었습니다 (" + rsp.card_name + "). 이제 '이번 달 결제'를 눌러 보세요.");
      render();
    });
  };
  document.getElementById("charge-again").onclick = function () {
    api("again", { customer_uid: customerUid, merchant_uid: uid("month") }).then(function (answer) {
      if (answer.code !== 0) { say("정기결제 실패: " + answer.message); return; }
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
    say("카드가 등록되었습니다.");
  } else if (query.get("imp_uid")) {
    verified({ imp_uid: query.get("imp_uid"), error_msg: query.get("error_msg") });
  } else if (query.get("error_msg")) {
    say("결제가 진행되지 않았습니다: " + query.get("error_msg"));
  }
  render();
})();
