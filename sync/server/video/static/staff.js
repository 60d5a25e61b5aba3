// The staff console of video consultations: presence, the ringing queue, the call
// (both videos, mute, hang up) and the note after it. Plain JS, no framework.
// Signaling: /video/ws/staff (the session cookie); the kiosk makes the offer with all
// its ICE candidates (aiortc does not trickle), so the answer waits for gathering too.
(function () {
  "use strict";
  var root = document.getElementById("console");
  var zh = root.dataset.lang !== "en";
  function t(z, e) { return zh ? z : e; }
  var $ = function (id) { return document.getElementById(id); };
  var ws = null, lastHeard = 0, retry = 0, pc = null, localStream = null, call = null, timer = null;
  var started = 0, lastCall = null, muted = false, presence = "online";
  var PRESENCE = { online: t("在线", "Online"), busy: t("忙碌", "Busy"), away: t("离开", "Away"),
                   offline: t("离线", "Offline") };
  var REASONS = { kiosk_hangup: t("居民挂断", "the resident hung up"), staff_hangup: t("您已挂断", "you hung up"),
                  kiosk_lost: t("居民端连接中断", "the kiosk's connection was lost"),
                  staff_lost: t("您的连接中断", "your connection was lost"),
                  time_limit: t("已到通话时限", "the time limit was reached") };

  function setState(state) { root.dataset.state = state; }
  function send(message) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(message)); }
  function link(ok, text) { var b = $("link"); b.className = "badge " + (ok ? "ok" : "bad"); b.textContent = text; }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/video/ws/staff";
    ws = new WebSocket(url);
    ws.onopen = function () { retry = 0; lastHeard = Date.now(); link(true, t("已连接", "Connected")); };
    ws.onmessage = function (e) { lastHeard = Date.now(); handle(JSON.parse(e.data)); };
    ws.onclose = function (e) {
      ws = null;
      if (e.code === 4401) { link(false, t("请重新登录", "Sign in again")); location.href = "/login?next=/staff"; return; }
      link(false, t("连接中断，正在重连…", "Disconnected, reconnecting…"));
      setTimeout(connect, Math.min(5000, 500 * Math.pow(2, retry++)));
    };
  }
  setInterval(function () {
    if (!ws) return;
    if (ws.readyState === 1) send({ type: "ping" });
    if (Date.now() - lastHeard > 4000) { try { ws.close(); } catch (e) { /* closing anyway */ } }
  }, 1000);

  function handle(m) {
    if (m.type === "state") return showState(m);
    if (m.type === "connected") return startCall(m);
    if (m.type === "offer") return answerOffer(m.sdp, m.generation);
    if (m.type === "ended" || m.type === "unanswered" || m.type === "declined") {
      if (call && m.call_id === call.call_id) endCall(m.reason);
      return;
    }
    if (m.type === "peer_lost") return problem(t("居民端连接中断，等待重连…", "The kiosk's connection dropped; waiting for it to come back…"));
    if (m.type === "peer_back") return problem(null);
    if (m.type === "error") return notice(m.message);
  }

  // -- presence, colleagues and the queue ----------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("[data-presence]"), function (b) {
    b.addEventListener("click", function () { send({ type: "presence", status: b.dataset.presence }); });
  });

  function showState(m) {
    presence = m.presence;
    Array.prototype.forEach.call(document.querySelectorAll("[data-presence]"), function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.presence === m.presence));
    });
    var staff = $("staff"); staff.textContent = "";
    m.staff.forEach(function (s) {
      var li = document.createElement("li");
      li.innerHTML = '<span></span> <span class="badge"></span>';
      li.firstChild.textContent = s.name;
      li.lastChild.textContent = PRESENCE[s.presence] || s.presence;
      li.lastChild.classList.add(s.presence);
      staff.appendChild(li);
    });
    var list = $("queue"); list.textContent = "";
    $("queue-count").textContent = String(m.queue.length);
    $("queue-empty").hidden = m.queue.length > 0;
    m.queue.forEach(function (c, i) { list.appendChild(queueItem(c, i, m.ring && !c.declined && !call)); });
    if (!call) setState(m.ring ? "ringing" : (m.queue.length ? "queue" : "idle"));
  }

  function queueItem(c, i, ringing) {
    var li = document.createElement("li");
    li.dataset.call = c.call_id;
    if (ringing) li.className = "ringing";
    var info = document.createElement("div");
    var who = document.createElement("div"); who.className = "who";
    who.textContent = (i + 1) + ". " + (c.context.name || t("居民", "Resident")) + " · " + c.community;
    info.appendChild(who);
    var dl = document.createElement("dl");
    [[t("身份证", "ID"), c.context.id_number], [t("事项", "Topic"), c.context.topic],
     [t("案件", "Case"), c.context.case_id ? c.context.case_id + " (" + (c.context.case_state || "") + ")" : null],
     [t("等候", "Waiting"), since(c.since)]].forEach(function (row) {
      if (!row[1]) return;
      var dt = document.createElement("dt"); dt.textContent = row[0];
      var dd = document.createElement("dd"); dd.textContent = row[1];
      dl.appendChild(dt); dl.appendChild(dd);
    });
    info.appendChild(dl);
    li.appendChild(info);
    var actions = document.createElement("div"); actions.className = "actions";
    var take = document.createElement("button"); take.className = "primary"; take.dataset.action = "take";
    take.textContent = t("接听", "Answer");
    take.disabled = !!call;
    take.onclick = function () { take.disabled = true; send({ type: "take", call_id: c.call_id }); };
    var decline = document.createElement("button"); decline.dataset.action = "decline";
    decline.textContent = c.declined ? t("已拒接", "Declined") : t("拒接", "Decline");
    decline.disabled = !!c.declined;
    decline.onclick = function () { send({ type: "decline", call_id: c.call_id }); };
    actions.appendChild(take); actions.appendChild(decline);
    li.appendChild(actions);
    return li;
  }

  function since(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 60 ? s + t(" 秒", " s") : Math.floor(s / 60) + t(" 分钟", " min");
  }

  // -- the call --------------------------------------------------------------------
  function media() {
    if (localStream) return Promise.resolve(localStream);
    return navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true })
      .then(function (s) { localStream = s; $("local").srcObject = s; return s; });
  }

  function startCall(m) {
    if (m.resumed && call && call.call_id === m.call_id) return;  // this page's socket came back: nothing lost
    call = m; lastCall = m; muted = false;
    $("mute").textContent = t("静音", "Mute");
    setState("connecting");
    $("incoming").hidden = true; $("after").hidden = true; $("call").hidden = false;
    var c = m.context || {};
    $("call-who").textContent = [c.name, c.id_number, c.topic, m.community].filter(Boolean).join(" · ");
    $("recording").hidden = !m.recording;
    $("call-note").value = "";
    started = Date.parse(m.answered_at) || Date.now();  // a reopened page counts from the answer
    clearInterval(timer);
    timer = setInterval(function () {
      var s = Math.round((Date.now() - started) / 1000);
      $("call-timer").textContent = String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
    }, 1000);
    problem(null);
    if (m.offer) answerOffer(m.offer, m.generation);
    else problem(t("等待居民端画面…", "Waiting for the kiosk's picture…"));
  }

  function answerOffer(sdp, generation) {
    if (!call) return;
    if (pc) { pc.close(); pc = null; }
    var mine = new RTCPeerConnection({ iceServers: [] });
    pc = mine;
    mine.ontrack = function (e) {
      var v = $("remote");
      if (v.srcObject !== e.streams[0]) v.srcObject = e.streams[0] || new MediaStream([e.track]);
    };
    mine.onconnectionstatechange = function () {
      if (pc !== mine) return;
      if (mine.connectionState === "connected") { setState("in-call"); problem(null); startRecording(); }
      if (mine.connectionState === "failed" || mine.connectionState === "disconnected")
        problem(t("通话画面中断，正在恢复…", "The picture dropped; recovering…"));
    };
    media().then(function (stream) {
      stream.getTracks().forEach(function (track) { mine.addTrack(track, stream); });
      return mine.setRemoteDescription({ type: "offer", sdp: sdp });
    }).then(function () { return mine.createAnswer(); })
      .then(function (answer) { return mine.setLocalDescription(answer); })
      .then(function () { return gathered(mine); })
      .then(function () {
        if (pc === mine) send({ type: "answer", call_id: call.call_id, sdp: mine.localDescription.sdp, generation: generation });
      })
      .catch(function (e) { problem(t("无法开始通话：", "Cannot start the call: ") + e); });
  }

  function gathered(peer) {
    return new Promise(function (resolve) {
      if (peer.iceGatheringState === "complete") return resolve();
      var done = function () { if (peer.iceGatheringState === "complete") { peer.removeEventListener("icegatheringstatechange", done); resolve(); } };
      peer.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000);  // send what was gathered; loopback finishes far sooner
    });
  }

  function notice(text) { var n = $("notice"); n.hidden = !text; n.textContent = text || "";
    if (text) setTimeout(function () { if (n.textContent === text) notice(null); }, 6000); }
  function problem(text) { var p = $("call-problem"); p.hidden = !text; p.textContent = text || ""; }

  $("mute").onclick = function () {
    muted = !muted;
    if (localStream) localStream.getAudioTracks().forEach(function (tr) { tr.enabled = !muted; });
    $("mute").textContent = muted ? t("取消静音", "Unmute") : t("静音", "Mute");
    $("mute").setAttribute("aria-pressed", String(muted));
  };
  $("hangup").onclick = function () {
    if (!call) return;
    send({ type: "hangup", call_id: call.call_id });
    endCall("staff_hangup");
  };

  function endCall(reason) {
    if (!call) return;
    var note = $("call-note").value;
    call = null;
    clearInterval(timer);
    stopRecording();
    if (pc) { pc.close(); pc = null; }
    $("remote").srcObject = null;
    $("call").hidden = true; $("incoming").hidden = false; $("after").hidden = false;
    $("note").value = note; $("follow-up").value = ""; $("saved").textContent = "";
    $("after-reason").textContent = REASONS[reason] || reason || "";
    setState("after-call");
  }

  $("save-note").onclick = function () {
    if (!lastCall) return;
    fetch("/staff/calls/" + encodeURIComponent(lastCall.call_id) + "/note", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify({ note: $("note").value, follow_up: $("follow-up").value })
    }).then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (res) {
        if (!res[0]) throw new Error(res[1].detail || "error");
        $("saved").textContent = res[1].case_id ? t("已保存，已建网格员跟进案件 ", "Saved; follow-up case ") + res[1].case_id
                                                : t("已保存", "Saved");
      })
      .catch(function (e) { $("saved").textContent = t("保存失败，请重试：", "Not saved, try again: ") + e.message; });
  };

  // -- recording: only a call of a department that records (the kiosk asked first) ------
  // One stable stream for the whole call, whatever renegotiations replace the peer
  // connection: a canvas drawing the kiosk's picture (the staff's own small in a corner)
  // and an audio mix of both voices. MediaRecorder cuts it into WebM pieces that go up
  // in order, each retried, so a console closed mid-call loses seconds, not the call.
  var SLICE_MS = 2000, rec = null;
  var recorded = { pieces: 0, bytes: 0, refused: 0, failed: 0, queued: 0, stopped: 0 };

  function startRecording() {
    if (!call || !call.recording || rec || !window.MediaRecorder) return;
    var canvas = document.createElement("canvas"); canvas.width = 640; canvas.height = 480;
    var g = canvas.getContext("2d");
    var audio = new AudioContext(), mix = audio.createMediaStreamDestination();
    var mixed = {};
    var draw = setInterval(function () {
      var remote = $("remote"), local = $("local");
      g.fillStyle = "#000"; g.fillRect(0, 0, 640, 480);
      if (remote.readyState >= 2) g.drawImage(remote, 0, 0, 640, 480);
      if (local.readyState >= 2) g.drawImage(local, 480, 360, 160, 120);
      [remote.srcObject, localStream].forEach(function (s) {  // new tracks after a renegotiation join the mix
        if (!s) return;
        s.getAudioTracks().forEach(function (tr) {
          if (mixed[tr.id] || tr.readyState !== "live") return;
          mixed[tr.id] = true;
          audio.createMediaStreamSource(new MediaStream([tr])).connect(mix);
        });
      });
    }, 66);
    var stream = new MediaStream(canvas.captureStream(15).getVideoTracks().concat(mix.stream.getAudioTracks()));
    var type = ["video/webm;codecs=vp8,opus", "video/webm"].filter(function (m) { return MediaRecorder.isTypeSupported(m); })[0];
    var recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    rec = { callId: call.call_id, recorder: recorder, seq: 0, queue: Promise.resolve(), draw: draw, audio: audio };
    var mine = rec;
    recorder.ondataavailable = function (e) { if (e.data && e.data.size) upload(mine, mine.seq++, e.data); };
    recorder.onstop = function () { clearInterval(draw); audio.close(); recorded.stopped++; };  // after its last piece
    recorder.start(SLICE_MS);
  }

  function upload(r, seq, blob) {
    function attempt(n) {
      return fetch("/staff/calls/" + encodeURIComponent(r.callId) + "/recording/" + seq, {
        method: "POST", credentials: "same-origin", body: blob,
        headers: { "Content-Type": "video/webm", "X-CSRF-Token": root.dataset.csrf }
      }).then(function (res) {
        if (res.ok) { recorded.pieces++; recorded.bytes += blob.size; return; }
        if (res.status >= 500) throw new Error("HTTP " + res.status);
        recorded.refused++;  // refused for good (not recorded, too late): no retry
        return res.json().then(function (b) { notice(t("录像未保存：", "Recording not kept: ") + (b.detail || res.status)); });
      }).catch(function (e) {
        if (n >= 5) { recorded.failed++; notice(t("录像片段上传失败：", "A piece of the recording was lost: ") + e.message); return; }
        return new Promise(function (done) { setTimeout(done, 1000 * Math.pow(2, n)); }).then(function () { return attempt(n + 1); });
      });
    }
    recorded.queued++;
    r.queue = r.queue.then(function () { return attempt(0); });
  }

  function stopRecording() {
    if (!rec) return;
    var r = rec; rec = null;
    if (r.recorder.state !== "inactive") r.recorder.stop();  // its last piece still goes up
  }

  // For tests and the bench: what this console receives, from the browser's own stats.
  window.videoConsole = {
    state: function () { return root.dataset.state; },
    callId: function () { return call ? call.call_id : null; },
    dropMedia: function () { if (pc) { pc.close(); } },  // tests: a media path gone, signaling still up
    recorded: function () { return { recording: !!rec, pieces: recorded.pieces, bytes: recorded.bytes,
                                     refused: recorded.refused, failed: recorded.failed, stopped: recorded.stopped,
                                     pending: recorded.queued - recorded.pieces - recorded.refused - recorded.failed }; },
    stats: function () {
      if (!pc) return Promise.resolve(null);
      return pc.getStats().then(function (report) {
        var out = { video_frames: 0, audio_packets: 0, video_sent: 0, audio_sent: 0 };
        report.forEach(function (s) {
          if (s.type === "inbound-rtp" && s.kind === "video") out.video_frames += s.framesDecoded || 0;
          if (s.type === "inbound-rtp" && s.kind === "audio") out.audio_packets += s.packetsReceived || 0;
          if (s.type === "outbound-rtp" && s.kind === "video") out.video_sent += s.framesEncoded || 0;
          if (s.type === "outbound-rtp" && s.kind === "audio") out.audio_sent += s.packetsSent || 0;
        });
        return out;
      });
    }
  };
  connect();
})();
