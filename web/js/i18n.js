// Every text of the web client, in Vietnamese (the default: the users are Vietnamese agents) and English.
//
// - TEXTS: interface texts, key -> [vi, en]; "{name}" placeholders are filled by t(key, {name: ...}).
// - ERRORS: every error code a page can meet (the server's catalogue, docs/errors.md; the media node's
//   codes; GET_USER_MEDIA_ERROR and REQUEST_ANSWER_URL_ERROR of seed 003), and every warning code of the
//   server's (docs/errors.md "Warnings"), as a sentence for people with what to do. tests/unit/test_web_i18n.py checks that every code of the catalogue is here in both
//   languages. Keep the layout "  CODE: {" / "    vi: ..." / "    en: ..." that the test reads.
//
// The language is kept in localStorage ("vkyc.lang"); setLang() re-renders every [data-i18n] element.

export const LANGS = ["vi", "en"];
const STORE_KEY = "vkyc.lang";

const TEXTS = {
  // common
  "app.title": ["vkyc — Xác thực video", "vkyc — Video verification"],
  "lang.switch": ["English", "Tiếng Việt"],
  "login.title": ["Đăng nhập", "Log in"],
  "login.username": ["Tên đăng nhập", "Username"],
  "login.password": ["Mật khẩu", "Password"],
  "login.submit": ["Đăng nhập", "Log in"],
  "login.busy": ["Đang đăng nhập…", "Logging in…"],
  "login.wrong_page_agent": [
    "Tài khoản này là giám sát viên: hãy dùng trang giám sát.",
    "This account is a supervisor's: use the supervisor console.",
  ],
  "login.wrong_page_supervisor": [
    "Tài khoản này là của điện thoại viên: hãy dùng trang điện thoại viên.",
    "This account is an agent's: use the agent page.",
  ],
  "api.ignored": [
    "Liên kết này dùng ?api= để gửi đăng nhập tới một máy chủ không được phép ({url}): đã bỏ qua, trang dùng máy chủ của chính nó. Nếu ai đó gửi cho bạn liên kết này, hãy báo cho quản trị.",
    "This link's ?api= would send your login to a server that is not allowed ({url}): it was ignored and the page uses its own server. If someone sent you this link, tell your administrator.",
  ],
  "logout": ["Đăng xuất", "Log out"],
  "copy": ["Sao chép", "Copy"],
  "copied": ["Đã sao chép", "Copied"],
  "close": ["Đóng", "Close"],
  "retry": ["Thử lại", "Retry"],
  "none": ["—", "—"],
  "call_id": ["Mã cuộc gọi", "Call id"],
  "request_id": ["Mã yêu cầu", "Request id"],
  "error.code": ["Mã lỗi", "Error code"],
  "error.unknown": [
    "Đã xảy ra lỗi không xác định. Hãy báo cho quản trị kèm mã cuộc gọi.",
    "Something unexpected went wrong. Report it to your administrator with the call id.",
  ],
  "error.network": [
    "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.",
    "The server cannot be reached. Check the network and try again.",
  ],
  "conn.connecting": ["Đang kết nối…", "Connecting…"],
  "conn.connected": ["Đã kết nối", "Connected"],
  "conn.reconnecting": [
    "Mất kết nối, đang kết nối lại… ({seconds} giây)",
    "Connection lost, reconnecting… ({seconds} s)",
  ],
  "conn.restored": ["Đã kết nối lại, cuộc gọi tiếp tục.", "Reconnected: the call goes on."],
  "conn.ended": ["Phiên làm việc đã kết thúc. Hãy đăng nhập lại.", "Your session has ended. Please log in again."],
  "conn.replaced": [
    "Bạn đã đăng nhập trên thiết bị khác; phiên ở đây đã đóng.",
    "You logged in on another device; this session was closed.",
  ],
  "conn.resumed_after_reload": ["Đã khôi phục phiên làm việc.", "Session restored."],

  // agent status
  "status.label": ["Trạng thái", "Status"],
  "status.AVAILABLE": ["Sẵn sàng", "Available"],
  "status.UNAVAILABLE": ["Tạm nghỉ", "Unavailable"],
  "status.OFFLINE": ["Ngoại tuyến", "Offline"],
  "status.RINGING": ["Đang đổ chuông", "Ringing"],
  "status.IN_CALL": ["Đang trong cuộc gọi", "In a call"],
  "status.WRAP_UP": ["Hoàn tất hồ sơ", "Wrap-up"],
  "status.set.available": ["Sẵn sàng", "Available"],
  "status.set.unavailable": ["Tạm nghỉ", "Unavailable"],
  "status.set.offline": ["Ngoại tuyến", "Offline"],
  "status.since": ["từ {time}", "for {time}"],
  "idle.title": ["Chờ cuộc gọi", "Waiting for calls"],
  "idle.available": [
    "Bạn đang sẵn sàng: cuộc gọi đến sẽ hiện ở đây.",
    "You are available: incoming calls appear here.",
  ],
  "idle.not_available": [
    "Chọn “Sẵn sàng” để bắt đầu nhận cuộc gọi.",
    "Choose “Available” to start taking calls.",
  ],
  "idle.missed": [
    "Bạn đã bỏ lỡ một cuộc gọi nên được chuyển sang Tạm nghỉ. Chọn “Sẵn sàng” khi quay lại.",
    "You missed a call, so you were set Unavailable. Choose “Available” when you are back.",
  ],
  "camera.preview": ["Camera của bạn", "Your camera"],

  // incoming call popup
  "offer.title": ["Cuộc gọi đến", "Incoming call"],
  "offer.countdown": ["Tự động chuyển sau {seconds} giây", "Passes on in {seconds} s"],
  "offer.accept": ["Nhận cuộc gọi", "Accept"],
  "offer.reject": ["Từ chối", "Reject"],
  "offer.keys": [
    "Phím tắt: Enter để nhận; Esc hai lần để từ chối",
    "Shortcuts: Enter to accept; Esc twice to reject",
  ],
  "offer.notification": ["Cuộc gọi xác thực: {name}", "Verification call: {name}"],
  "offer.withdrawn.rang_out": [
    "Bạn không nhận kịp: cuộc gọi đã được trả về hàng đợi.",
    "You did not answer in time: the call went back to the queue.",
  ],
  "offer.withdrawn.caller_hung_up": ["Khách hàng đã gác máy trước khi bạn nhận.", "The caller hung up before you answered."],
  "offer.withdrawn.other": ["Cuộc gọi không còn đổ chuông ở chỗ bạn.", "The call is no longer ringing for you."],

  // dossier
  "dossier.title": ["Hồ sơ khách hàng", "Customer dossier"],
  "dossier.id": ["Mã hồ sơ", "Dossier"],
  "dossier.state": ["Trạng thái hồ sơ", "Dossier state"],
  "dossier.customer_name": ["Họ tên", "Name"],
  "dossier.id_number": ["Số CMND/CCCD", "ID number"],
  "dossier.subscriber": ["Số thuê bao", "Subscriber"],
  "dossier.sub_type": ["Gói cước", "Package"],
  "dossier.customer_type": ["Loại khách hàng", "Customer type"],
  "dossier.payment_type": ["Hình thức thanh toán", "Payment"],
  "dossier.dealer_account": ["Tài khoản ĐBH", "Dealer account"],
  "dossier.unit": ["Đơn vị", "Unit"],
  "dossier.id_front": ["CMND/CCCD mặt trước", "ID card, front"],
  "dossier.id_back": ["CMND/CCCD mặt sau", "ID card, back"],
  "dossier.portrait": ["Ảnh chân dung (eKYC)", "Portrait (eKYC)"],
  "dossier.no_image": ["Không có ảnh", "No image"],
  "dossier.state.N": ["Mới", "New"],
  "dossier.state.W": ["Chờ xác thực", "Waiting"],
  "dossier.state.A": ["Đã duyệt", "Approved"],
  "dossier.state.R": ["Từ chối", "Rejected"],
  "dossier.state.C": ["Hậu kiểm", "Post-audit"],
  "dossier.state.D": ["Không liên lạc được", "Unreachable"],

  // in call
  "call.title": ["Cuộc gọi video", "Video call"],
  "call.customer_video": ["Khách hàng", "Customer"],
  "call.own_video": ["Bạn", "You"],
  "call.greeting": ["Lời chào", "Greeting"],
  "call.closing": ["Lời kết thúc", "Closing message"],
  "call.hangup": ["Kết thúc cuộc gọi", "Hang up"],
  "call.media_connecting": ["Đang kết nối hình ảnh…", "Connecting video…"],
  "call.media_connected": ["Hình ảnh đã kết nối", "Video connected"],
  "call.media_failed": ["Không kết nối được hình ảnh.", "The video could not be connected."],
  "call.peer_reconnecting": [
    "Khách hàng đang kết nối lại… ({seconds} giây)",
    "The customer is reconnecting… ({seconds} s)",
  ],
  "call.peer_reconnected": ["Khách hàng đã kết nối lại.", "The customer is back."],
  "call.peer_left": ["Khách hàng đã rời cuộc gọi.", "The customer left the call."],
  "call.ended": ["Cuộc gọi đã kết thúc ({reason}).", "The call has ended ({reason})."],
  "call.wrapup": [
    "Cuộc gọi đã kết thúc. Hãy chọn kết quả cho hồ sơ (còn {seconds} giây).",
    "The call has ended. Decide the dossier ({seconds} s left).",
  ],
  "call.snapshot": ["Chụp ảnh xác thực", "Take snapshot"],
  "call.snapshot.busy": ["Đang chụp…", "Taking the snapshot…"],
  "call.snapshot.face_ok": ["Đã thấy khuôn mặt chính diện.", "Frontal face found."],
  "call.snapshot.no_face": [
    "Không thấy khuôn mặt chính diện — đề nghị khách hàng nhìn thẳng vào camera rồi chụp lại.",
    "No frontal face — ask the customer to face the camera, then take the snapshot again.",
  ],
  "call.snapshot.blurred": [
    "Ảnh hơi mờ: đề nghị khách hàng giữ yên máy nếu cần chụp lại.",
    "The picture is slightly blurred: ask the customer to hold still if you take it again.",
  ],
  "call.snapshot.details": ["Ảnh {id} · {width}×{height} · độ nét {sharpness} · {time}", "Snapshot {id} · {width}×{height} · sharpness {sharpness} · {time}"],
  "call.reason.end.completed": ["đã hoàn tất", "completed"],
  "call.reason.end.grace_expired": ["mất kết nối quá lâu", "the connection was lost too long"],
  "call.reason.end.mobile_left": ["khách hàng rời đi", "the customer left"],
  "call.reason.end.agent_left": ["điện thoại viên rời đi", "the agent left"],
  "call.reason.end.media_failed": ["lỗi hình ảnh", "media failed"],
  "call.reason.end.no_answer": ["khách hàng không nghe máy", "the customer did not answer"],
  "call.reason.end.declined": ["khách hàng từ chối", "the customer declined"],
  "call.reason.end.agent_cancelled": ["bạn đã hủy", "you cancelled"],
  "call.reason.end.swept": ["hệ thống đã đóng", "closed by the system"],

  // decision
  "decide.title": ["Kết quả xác thực", "Decision"],
  "decide.A": ["A — Duyệt", "A — Approve"],
  "decide.R": ["R — Từ chối", "R — Reject"],
  "decide.C": ["C — Hậu kiểm", "C — Post-audit"],
  "decide.D": ["D — Không liên lạc được", "D — Unreachable"],
  "decide.reason": ["Ghi chú", "Note"],
  "decide.reason_hint": ["R, C, D cần mã lý do hoặc ghi chú", "R, C and D need a reason code or a note"],
  "decide.reason_required": ["Hãy nhập lý do cho quyết định {decision}.", "Enter a reason for decision {decision}."],
  "decide.done": ["Đã ghi nhận: hồ sơ {dossier} → {state}.", "Recorded: dossier {dossier} → {state}."],
  "decide.with_snapshot": ["kèm ảnh {id}", "with snapshot {id}"],
  "decide.why.answered": [
    "A, R và C cần một cuộc gọi khách hàng đã nghe máy.",
    "A, R and C need a call the customer answered.",
  ],
  "decide.why.answered_ended": [
    "Khách hàng chưa nghe máy: chỉ có thể chọn D.",
    "The customer never answered: only D is possible.",
  ],
  "decide.why.media": [
    "A và C cần hình ảnh của khách hàng: chưa nhận được video của khách hàng trong cuộc gọi này.",
    "A and C need the customer's video: none has arrived in this call yet.",
  ],
  "decide.why.media_ended": [
    "A và C cần hình ảnh của khách hàng, nhưng cuộc gọi đã kết thúc mà chưa nhận được video: chọn R hoặc D.",
    "A and C need the customer's video, but the call ended without it: choose R or D.",
  ],
  "decide.why.face": [
    "A cần một ảnh chụp thấy khuôn mặt khách hàng trong cuộc gọi này: bấm “Chụp ảnh xác thực” khi khách hàng nhìn thẳng vào camera.",
    "A needs a snapshot showing the customer's face in this call: press “Take snapshot” while the customer faces the camera.",
  ],
  "decide.why.face_ended": [
    "A cần một ảnh chụp thấy khuôn mặt khách hàng, nhưng cuộc gọi đã kết thúc mà chưa có: chọn C, R hoặc D.",
    "A needs a snapshot showing the customer's face, but the call ended without one: choose C, R or D.",
  ],

  // call-back
  "callback.title": ["Gọi lại khách hàng", "Call a customer back"],
  "callback.dossier": ["Mã hồ sơ", "Dossier id"],
  "callback.find": ["Xem hồ sơ", "Show dossier"],
  "callback.start": ["Gọi lại", "Call back"],
  "callback.cancel": ["Hủy cuộc gọi", "Cancel call"],
  "callback.ringing": ["Đang gọi khách hàng… ({seconds} giây)", "Calling the customer… ({seconds} s)"],
  "callback.offline": [
    "Điện thoại của khách hàng chưa kết nối; hệ thống sẽ gọi khi máy kết nối lại.",
    "The customer's phone is not connected; it rings as soon as it reconnects.",
  ],

  // media errors (getUserMedia)
  "gum.NotAllowedError": [
    "Trình duyệt đang chặn camera/micro. Bấm biểu tượng camera trên thanh địa chỉ, chọn “Cho phép”, rồi bấm Thử lại.",
    "The browser blocks the camera/microphone. Click the camera icon in the address bar, choose “Allow”, then Retry.",
  ],
  "gum.NotFoundError": [
    "Không tìm thấy camera hoặc micro. Cắm thiết bị vào máy rồi bấm Thử lại.",
    "No camera or microphone was found. Plug one in, then Retry.",
  ],
  "gum.NotReadableError": [
    "Camera/micro đang bị ứng dụng khác dùng (Zoom, Teams…). Đóng ứng dụng đó rồi bấm Thử lại.",
    "Another application (Zoom, Teams…) is using the camera/microphone. Close it, then Retry.",
  ],
  "gum.OverconstrainedError": [
    "Camera không hỗ trợ độ phân giải yêu cầu. Thử camera khác.",
    "The camera does not support the requested resolution. Try another camera.",
  ],
  "gum.SecurityError": [
    "Trang phải được mở qua HTTPS để dùng camera. Báo quản trị.",
    "The page must be opened over HTTPS to use the camera. Tell your administrator.",
  ],
  "gum.other": [
    "Không mở được camera/micro ({name}). Tải lại trang; nếu vẫn lỗi, báo quản trị.",
    "The camera/microphone could not be opened ({name}). Reload the page; if it persists, tell your administrator.",
  ],

  // supervisor console
  "sup.title": ["Giám sát trực tuyến", "Live monitor"],
  "sup.agents": ["Điện thoại viên", "Agents"],
  "sup.queues": ["Hàng đợi", "Queues"],
  "sup.col.agent": ["Điện thoại viên", "Agent"],
  "sup.col.unit": ["Đơn vị", "Unit"],
  "sup.col.status": ["Trạng thái", "Status"],
  "sup.col.time": ["Thời gian", "Time in state"],
  "sup.col.call": ["Cuộc gọi hiện tại", "Current call"],
  "sup.col.waiting": ["Đang chờ", "Waiting"],
  "sup.col.longest": ["Chờ lâu nhất", "Longest wait"],
  "sup.no_agents": ["Không có điện thoại viên.", "No agents."],
  "sup.lookup": ["Tra cứu cuộc gọi", "Call lookup"],
  "sup.lookup.placeholder": ["Nhập mã cuộc gọi", "Call id"],
  "sup.lookup.go": ["Tra cứu", "Look up"],
  "sup.lookup.timeline": ["Diễn biến", "Timeline"],
  "sup.lookup.offers": ["Đã đổ chuông tại", "Offered to"],
  "sup.lookup.snapshots": ["Ảnh xác thực", "Snapshots"],
  "sup.lookup.recording": ["Ghi hình", "Recording"],
  "sup.lookup.no_snapshot": ["Chưa có ảnh.", "No snapshot."],
  "sup.lookup.no_recording": ["Chưa có bản ghi hình.", "No recording."],
  "sup.field.state": ["Trạng thái", "State"],
  "sup.field.direction": ["Chiều cuộc gọi", "Direction"],
  "sup.field.direction.in": ["Gọi đến", "Inbound"],
  "sup.field.direction.out": ["Gọi lại", "Call-back"],
  "sup.field.dossier": ["Hồ sơ", "Dossier"],
  "sup.field.agent": ["Điện thoại viên", "Agent"],
  "sup.field.created": ["Bắt đầu", "Placed"],
  "sup.field.answered": ["Thời điểm trả lời", "Answered at"],
  "sup.field.ended": ["Kết thúc", "Ended"],
  "sup.field.end_reason": ["Lý do kết thúc", "End reason"],
  "sup.field.decision": ["Kết quả", "Decision"],
  "sup.report": ["Báo cáo theo giờ", "Calls per hour"],
  "sup.report.date": ["Ngày", "Date"],
  "sup.report.unit": ["Đơn vị", "Unit"],
  "sup.report.all_units": ["Tất cả", "All"],
  "sup.report.show": ["Xem", "Show"],
  "sup.report.answered": ["Cuộc gọi đã trả lời", "Answered"],
  "sup.report.missed": ["Cuộc gọi nhỡ", "Missed"],
  "sup.report.sl": ["Mức phục vụ", "Service level"],
  "sup.report.sl_value": [
    "{value}% trả lời trong {seconds} giây (mục tiêu {target}%)",
    "{value}% answered within {seconds} s (target {target}%)",
  ],
  "sup.report.sl_none": ["Chưa có cuộc gọi trong ngày.", "No calls that day."],
  "sup.report.chart_title": ["Cuộc gọi theo giờ: đã trả lời và nhỡ", "Calls per hour: answered and missed"],
  "sup.report.hour": ["Giờ", "Hour"],

  // -- the agent's and supervisor's workspace (issue #16) --
  "agent.page_title": ["vkyc — Điện thoại viên", "vkyc — Agent"],
  "sup.page_title": ["vkyc — Giám sát", "vkyc — Supervisor"],
  "conn.ended_short": ["Đã ngắt kết nối", "Disconnected"],
  "conn.reconnecting_short": ["Đang kết nối lại…", "Reconnecting…"],
  "idle.ringing": ["Có cuộc gọi đến: nhận hoặc từ chối trong cửa sổ đang mở.", "A call is ringing: accept or reject it in the open window."],
  "offer.confirm_reject": [
    "Nhấn Esc lần nữa (hoặc bấm Từ chối) để từ chối cuộc gọi; Enter để nhận.",
    "Press Esc again (or click Reject) to reject the call; Enter to accept.",
  ],
  "dossier.payment_type.prepaid": ["Trả trước", "Prepaid"],
  "dossier.payment_type.postpaid": ["Trả sau", "Postpaid"],
  "dossier.customer_type.KHCN": ["Khách hàng cá nhân", "Individual"],
  "dossier.customer_type.KHDN": ["Khách hàng doanh nghiệp", "Business"],
  // a call's states, by direction (words, not letters: the letters of calls and dossiers overlap)
  "call.state.in.N": ["Chờ trong hàng đợi", "Waiting in queue"],
  "call.state.in.W": ["Đang đổ chuông", "Ringing"],
  "call.state.in.A": ["Đã nhận", "Accepted"],
  "call.state.in.R": ["Bị từ chối", "Rejected"],
  "call.state.in.M": ["Không nhận kịp", "Not answered in time"],
  "call.state.in.E": ["Khách hàng gác máy trước", "Caller hung up"],
  "call.state.in.T": ["Không có hình ảnh", "No media arrived"],
  "call.state.in.CONNECTED": ["Đang nói chuyện", "Connected"],
  "call.state.in.RECONNECTING": ["Đang kết nối lại", "Reconnecting"],
  "call.state.in.FINISHED": ["Đã kết thúc", "Finished"],
  "call.state.out.N": ["Đang gọi khách hàng", "Calling the customer"],
  "call.state.out.A": ["Khách hàng đã nghe máy", "Answered"],
  "call.state.out.C": ["Đã kết thúc", "Finished"],
  "call.state.out.F": ["Hệ thống đã đóng", "Closed by the system"],
  "call.state.out.E": ["Điện thoại viên đã hủy", "Cancelled by the agent"],
  "call.state.out.T": ["Không ai nghe máy", "Not answered"],
  "call.state.out.I": ["Điện thoại chưa đăng ký", "Phone not registered"],
  "call.state.out.CONNECTED": ["Đang nói chuyện", "Connected"],
  "call.state.out.RECONNECTING": ["Đang kết nối lại", "Reconnecting"],
  "call.state.none": ["(mới tạo)", "(created)"],
  "call.event.monitor_started": ["giám sát viên bắt đầu nghe", "a supervisor started listening"],
  "call.event.monitor_stopped": ["giám sát viên dừng nghe", "a supervisor stopped listening"],
  "call.event.offer": ["đổ chuông tại điện thoại viên", "offered to an agent"],
  "call.event.accept": ["điện thoại viên nhận", "accepted"],
  "call.event.reject": ["điện thoại viên từ chối", "rejected"],
  "call.event.ring_timeout": ["hết thời gian đổ chuông", "rang out"],
  "call.event.requeue": ["trả về hàng đợi", "back to the queue"],
  "call.event.caller_hangup": ["khách hàng gác máy", "caller hung up"],
  "call.event.no_agent": ["không có điện thoại viên", "no agent"],
  "call.event.no_call_timeout": ["hình ảnh không đến", "media never came"],
  "call.event.media_connected": ["hình ảnh đã kết nối", "media connected"],
  "call.event.party_dropped": ["một bên mất kết nối", "a party dropped"],
  "call.event.party_resumed": ["một bên kết nối lại", "a party came back"],
  "call.event.grace_expired": ["hết thời gian chờ kết nối lại", "reconnect grace expired"],
  "call.event.end": ["kết thúc", "ended"],
  "call.event.sweep": ["hệ thống dọn dẹp", "swept"],
  "call.event.decline": ["khách hàng từ chối", "declined"],
  "call.event.cancel": ["điện thoại viên hủy", "cancelled"],
  "call.event.device_not_registered": ["điện thoại chưa đăng ký", "phone not registered"],
  "call.event.create": ["tạo cuộc gọi", "created"],
  "call.event.decided": ["đã ra quyết định", "decision recorded"],
  "call.reason.caller_hung_up": ["khách hàng gác máy", "the caller hung up"],
  "call.reason.call requested": ["khách hàng gọi đến", "call requested"],
  "call.reason.call-back started": ["bắt đầu gọi lại", "call-back started"],
  "call.reason.both parties' media up": ["hình ảnh hai bên đã kết nối", "both sides' media up"],
  "call.reason.call is over": ["cuộc gọi đã kết thúc", "the call is over"],
  "call.reason.connected": ["đã kết nối", "connected"],
  "call.reason.socket closed": ["mất kết nối", "the connection closed"],
  "call.reason.swept": ["hệ thống đã đóng", "closed by the system"],
  "call.reason.end.media_node_lost": ["máy chủ hình ảnh dừng", "the media server stopped"],
  "call.reason.end.no_agent": ["không có điện thoại viên", "no agent"],
  "call.reason.end.caller_hung_up": ["khách hàng gác máy", "the caller hung up"],
  "call.reason.end.no_call_arrived": ["hình ảnh không đến", "no media arrived"],
  "offer.state.PENDING": ["đang đổ chuông", "ringing"],
  "offer.state.ACCEPTED": ["đã nhận", "accepted"],
  "offer.state.REJECTED": ["từ chối", "rejected"],
  "offer.state.MISSED": ["không nhận kịp", "not answered in time"],
  "offer.state.CANCELLED": ["khách hàng gác máy trước", "caller hung up first"],
  "offer.state.RESCINDED": ["đã thu hồi", "withdrawn"],
  "actor.system": ["hệ thống", "system"],
  "actor.router": ["bộ định tuyến", "router"],
  "actor.mobile": ["khách hàng", "customer"],
  // my day, search, pictures (workspace.js)
  "myday.title": ["Hôm nay của tôi", "My day"],
  "myday.search": ["Tìm mã cuộc gọi, hồ sơ, số thuê bao", "Find a call, dossier or number"],
  "myday.refresh": ["Làm mới", "Refresh"],
  "myday.handled": ["cuộc gọi đã xử lý", "calls handled"],
  "myday.missed": ["cuộc gọi không nhận", "calls not taken"],
  "myday.aht": ["thời gian xử lý trung bình", "average handle time"],
  "myday.no_calls": ["Chưa có cuộc gọi nào.", "No calls yet."],
  "myday.col.time": ["Thời điểm", "Time"],
  "myday.col.outcome": ["Kết quả cuộc gọi", "Outcome"],
  "myday.col.handle": ["Thời gian xử lý", "Handle time"],
  "myday.answered": ["Đã nói chuyện", "Answered"],
  "myday.not_answered": ["Không nói chuyện được", "Not answered"],
  "search.several": ["Tìm thấy {count} hồ sơ: chọn một hồ sơ.", "{count} dossiers found: pick one."],
  "compare.open": ["So sánh khuôn mặt", "Compare faces"],
  "compare.snapshot": ["Ảnh chụp trong cuộc gọi", "Snapshot of this call"],
  // the agent's own media in a call (callcontrols.js)
  "call.mute": ["Tắt micro", "Mute"],
  "call.unmute": ["Bật micro", "Unmute"],
  "call.camera": ["Camera", "Camera"],
  "call.microphone": ["Micro", "Microphone"],
  "call.network": ["Mạng: {level}", "Network: {level}"],
  "call.network.unknown": ["đang đo", "measuring"],
  "call.network.good": ["tốt", "good"],
  "call.network.fair": ["trung bình", "fair"],
  "call.network.poor": ["yếu", "poor"],
  "call.network.detail": [
    "Phía khách hàng: {customer} (mất gói {loss}, độ trễ biến thiên {jitter} ms, {fps} hình/giây). Phía bạn: {own} (mất gói {ownLoss}, trễ khứ hồi {rtt} ms).",
    "Customer's side: {customer} ({loss} packets lost, jitter {jitter} ms, {fps} fps). Your side: {own} ({ownLoss} lost, round trip {rtt} ms).",
  ],
  "decide.acw": [
    "Ở lại trạng thái hoàn tất hồ sơ sau khi ghi nhận (tự chọn “Sẵn sàng” khi xong)",
    "Stay in wrap-up after the decision (choose “Available” when done)",
  ],
  "idle.after_call_work": [
    "Bạn đang hoàn tất hồ sơ sau cuộc gọi: chọn “Sẵn sàng” khi bạn đã xong.",
    "After-call work: choose “Available” when you are done.",
  ],
  "status.forced": [
    "Giám sát viên {by} đã chuyển bạn sang “{status}”: {reason}",
    "Supervisor {by} set you “{status}”: {reason}",
  ],
  "conn.logged_out_by_supervisor": [
    "Giám sát viên đã đăng xuất bạn. Hãy đăng nhập lại khi được phép.",
    "A supervisor logged you out. Log in again when you are allowed to.",
  ],
  // the supervisor's hands on the floor (supervision.js)
  "sup.col.actions": ["Thao tác", "Actions"],
  "force.open": ["Đổi trạng thái", "Set status"],
  "force.busy": ["Đang đổ chuông hoặc trong cuộc gọi", "Ringing or in a call"],
  "force.offline": ["Ngoại tuyến: không có phiên làm việc để đổi", "Offline: no session to set"],
  "force.title": ["Đổi trạng thái điện thoại viên", "Set an agent's status"],
  "force.who": ["{name}, hiện “{status}”", "{name}, now “{status}”"],
  "force.status": ["Trạng thái mới", "New status"],
  "force.status.available": ["Sẵn sàng", "Available"],
  "force.status.unavailable": ["Tạm nghỉ", "Unavailable"],
  "force.status.offline": ["Đăng xuất", "Log out"],
  "force.reason": ["Lý do", "Reason"],
  "force.reason_hint": ["Bắt buộc: điện thoại viên sẽ thấy lý do này", "Required: the agent sees it"],
  "force.reason_required": ["Hãy nhập lý do.", "Enter a reason."],
  "force.audited": [
    "Thao tác được ghi vào nhật ký trạng thái của điện thoại viên, kèm tên bạn và lý do.",
    "This goes into the agent's status log with your name and the reason.",
  ],
  "listen.open": ["Nghe", "Listen"],
  "listen.hint": [
    "Nghe và xem cuộc gọi mà khách hàng và điện thoại viên không biết (được ghi vào nhật ký cuộc gọi)",
    "Watch and hear the call without the customer or the agent knowing (written to the call's log)",
  ],
  "listen.title": ["Giám sát cuộc gọi", "Monitoring a call"],
  "listen.who": ["Cuộc gọi {call} của {name}", "Call {call} of {name}"],
  "listen.connecting": ["Đang kết nối…", "Connecting…"],
  "listen.live": ["Đang nghe", "Listening"],
  "listen.failed": ["Không nghe được cuộc gọi", "The call cannot be monitored"],
  "listen.silent": [
    "Khách hàng và điện thoại viên không được thông báo; bạn được ghi vào nhật ký cuộc gọi.",
    "The customer and the agent are not told; you are written to the call's log.",
  ],
  "listen.stop": ["Dừng nghe", "Stop listening"],
  "waiting.title": ["Hồ sơ đang chờ trong hàng đợi", "Dossiers waiting in the queues"],
  "waiting.none": ["Không có cuộc gọi nào đang chờ.", "No call is waiting."],
  "waiting.since": ["chờ từ {time}", "waiting since {time}"],
  "alert.wait": [
    "{unit}: một khách hàng đã chờ {time} (ngưỡng {limit}).",
    "{unit}: a caller has waited {time} (threshold {limit}).",
  ],
  "alert.sla": [
    "Mức phục vụ hôm nay {value}% thấp hơn mục tiêu {target}%.",
    "Today's service level {value}% is below its target of {target}%.",
  ],
  // the decision's confirmation
  "decide.reason_code": ["Mã lý do", "Reason code"],
  "decide.no_code": ["(không cần mã lý do)", "(no reason code needed)"],
  "decide.choose_code": ["— Chọn mã lý do —", "— Choose a reason code —"],
  "confirm.title": ["Xác nhận kết quả", "Confirm the decision"],
  "confirm.what": ["Ghi nhận {decision} cho hồ sơ {dossier}?", "Record {decision} for dossier {dossier}?"],
  "confirm.note": ["Ghi chú: {note}", "Note: {note}"],
  "confirm.closing": [
    "Đọc lời kết thúc cho khách hàng trước khi xác nhận",
    "Read the closing script to the customer before you confirm",
  ],
  "confirm.yes": ["Xác nhận", "Confirm"],
  "confirm.no": ["Quay lại", "Back"],
  // tickets for missed calls (web/js/tickets.js; seed 004)
  "tickets.title": ["Phiếu ghi cuộc gọi nhỡ", "Missed-call tickets"],
  "tickets.refresh": ["Làm mới", "Refresh"],
  "tickets.empty": ["Không có phiếu ghi nào cần xử lý.", "No ticket to follow up."],
  "tickets.calls": ["{count} cuộc gọi nhỡ", "{count} missed call(s)"],
  "tickets.call_back": ["Gọi lại", "Call back"],
  "tickets.state.open": ["Chưa xử lý", "Open"],
  "tickets.state.in_progress": ["Đang xử lý", "In progress"],
  "tickets.direction.in": ["gọi vào nhỡ", "missed inbound"],
  "tickets.direction.out": ["gọi lại không thành công", "failed call-back"],
  "tickets.day": ["Ngày {day}", "Day {day}"],
  "tickets.queues": ["hàng đợi {queues}", "queue {queues}"],
  "tickets.gathers": ["Các cuộc gọi trong phiếu:", "Calls in this ticket:"],
  // the popup answer URL (web/js/answer_url.js; seed 004)
  "answer.title": ["Thông tin khách hàng", "Customer page"],
  "answer.open_link": ["Mở trang thông tin khách hàng", "Open the customer page"],
  // -- the admin console (web/admin.html, web/js/admin.js) --
  "adm.title": ["Quản trị", "Administration"],
  "adm.login.title": ["Đăng nhập quản trị", "Administrator log in"],
  "adm.login.new_password": ["Mật khẩu mới (bắt buộc đổi)", "New password (a change is required)"],
  "adm.system": ["toàn hệ thống", "system-wide"],
  "adm.search": ["Tìm…", "Search…"],
  "adm.new": ["Thêm mới", "New"],
  "adm.page": ["{from}–{to} / {total}", "{from}–{to} of {total}"],
  "adm.pick": ["Chọn một dòng để sửa, hoặc bấm Thêm mới.", "Pick a row to edit it, or press New."],
  "adm.edit": ["Sửa", "Edit"],
  "adm.members": ["Thành viên", "Members"],
  "adm.enable": ["Mở khoá", "Enable"],
  "adm.disable": ["Khoá", "Disable"],
  "adm.reset_password": ["Đặt lại mật khẩu", "Reset password"],
  "adm.confirm_delete": ["Xoá {id}?", "Delete {id}?"],
  "adm.deleted": ["Đã xoá {id}.", "{id} deleted."],
  "adm.delete": ["Xoá", "Delete"],
  "adm.deferred": ["Điện thoại viên đang trong cuộc gọi: tài khoản sẽ bị khoá khi cuộc gọi kết thúc.", "The agent is in a call: the account is disabled when the call is over."],
  "adm.saved": ["Đã lưu.", "Saved."],
  "adm.password_once": ["Mật khẩu tạm (người dùng phải đổi khi đăng nhập)", "Temporary password (the user must change it at login)"],
  "adm.secret": ["Bí mật", "Secret"],
  "adm.secret_once": ["Chỉ hiển thị lần này: hãy sao chép ngay.", "Shown this once: copy it now."],
  "adm.hint.numbers": ["Các số, cách nhau bởi dấu phẩy", "Numbers, separated by commas"],
  "adm.hint.list": ["Các giá trị, cách nhau bởi dấu phẩy; để trống = không giới hạn", "Values separated by commas; empty = any"],
  "adm.hint.optlist": ["Để trống = mọi nhóm của đơn vị", "Empty = every group of the unit"],
  "adm.hint.optnumber": ["Để trống = theo cấu hình", "Empty = from the settings"],
  "adm.hint.queue_groups": ["Mỗi dòng: nhóm độ_ưu_tiên [tràn_sau_giây]", "One per line: group priority [overflow_after_s]"],
  "adm.save": ["Lưu", "Save"],
  "adm.create": ["Tạo", "Create"],
  "adm.cancel": ["Huỷ", "Cancel"],
  "adm.editing": ["Sửa {id}", "Edit {id}"],
  "adm.creating": ["Thêm mới", "New"],
  "adm.rotate": ["Đổi khoá", "Rotate"],
  "adm.revoke": ["Thu hồi", "Revoke"],
  "adm.create_key": ["Tạo khoá", "Create key"],
  "adm.key_once": ["Khoá API mới", "New API key"],
  "adm.new_key": ["Khoá API mới", "New API key"],
  "adm.scope.global": ["Toàn hệ thống", "Global"],
  "adm.scope.unit": ["Đơn vị {unit}", "Unit {unit}"],
  "adm.source.default": ["mặc định", "default"],
  "adm.source.global": ["toàn hệ thống", "global"],
  "adm.source.unit": ["đơn vị", "unit"],
  "adm.setting": ["Thiết lập", "Setting"],
  "adm.effective": ["Giá trị đang áp dụng", "Effective value"],
  "adm.override": ["Giá trị của phạm vi này", "This scope's value"],
  "adm.warning": ["Cảnh báo", "Warning"],
  "adm.settings_hint": ["Để trống = kế thừa; có hiệu lực trong tối đa 30 giây.", "Empty = inherit; takes effect within 30 s."],
  "adm.remove": ["Bỏ", "Remove"],
  "adm.add": ["Thêm", "Add"],
  "adm.replace": ["Thay cả danh sách", "Replace the whole list"],
  "adm.import": ["Nhập", "Import"],
  "adm.export": ["Xuất CSV", "Export CSV"],
  "adm.import_title": ["Nhập danh sách đen từ CSV", "Import a blacklist CSV"],
  "adm.imported": ["Đã thêm {added}; danh sách có {total} số; {problems} dòng không được thêm.", "{added} added; the list has {total} numbers; {problems} line(s) not added."],
  "adm.line": ["Dòng", "Line"],
  "adm.text": ["Nội dung", "Text"],
  "adm.problem": ["Vấn đề", "Problem"],
  "adm.problem.invalid": ["không phải số thuê bao", "not a subscriber number"],
  "adm.problem.duplicate": ["trùng với dòng trước", "duplicate of an earlier line"],
  "adm.problem.already_listed": ["đã có trong danh sách", "already listed"],
  "adm.drain": ["Ngừng nhận cuộc gọi", "Drain"],
  "adm.undrain": ["Nhận cuộc gọi lại", "Undrain"],
  "adm.filter": ["Lọc", "Filter"],
  "adm.section.units": ["Đơn vị", "Units"],
  "adm.section.groups": ["Nhóm", "Groups"],
  "adm.section.queues": ["Hàng đợi", "Queues"],
  "adm.section.hotlines": ["Hotline", "Hotlines"],
  "adm.section.users": ["Người dùng", "Users"],
  "adm.section.api_keys": ["Khoá API", "API keys"],
  "adm.section.sub_type_policy": ["Chính sách SUB_TYPE", "SUB_TYPE policy"],
  "adm.section.settings": ["Thiết lập cuộc gọi", "Call settings"],
  "adm.section.blacklist": ["Danh sách đen", "Blacklist"],
  "adm.section.media_nodes": ["Máy chủ media", "Media nodes"],
  "adm.section.audit": ["Nhật ký thay đổi", "Audit log"],
  "adm.f.id": ["Mã", "Id"],
  "adm.f.name": ["Tên", "Name"],
  "adm.f.serves": ["Phục vụ các đơn vị", "Serves units"],
  "adm.f.unit": ["Đơn vị", "Unit"],
  "adm.f.customer_types": ["Loại khách hàng", "Customer types"],
  "adm.f.sub_types": ["SUB_TYPE", "SUB_TYPEs"],
  "adm.f.dealer_channels": ["Kênh đại lý", "Dealer channels"],
  "adm.f.groups": ["Nhóm", "Groups"],
  "adm.f.timeout_s": ["Thời gian chờ (giây)", "Timeout (s)"],
  "adm.f.auto_ticket": ["Tự tạo ticket", "Auto ticket"],
  "adm.f.number": ["Số", "Number"],
  "adm.f.queue": ["Hàng đợi", "Queue"],
  "adm.f.allow_call_out": ["Cho phép gọi ra", "Call-out allowed"],
  "adm.f.call_out_groups": ["Nhóm được gọi ra", "Call-out groups"],
  "adm.f.username": ["Tên đăng nhập", "Username"],
  "adm.f.role": ["Vai trò", "Role"],
  "adm.f.password": ["Mật khẩu", "Password"],
  "adm.f.disabled": ["Bị khoá", "Disabled"],
  "adm.f.sub_type": ["SUB_TYPE", "SUB_TYPE"],
  "adm.f.icc_profile": ["Hồ sơ ICC", "ICC profile"],
  "adm.f.khcn": ["KHCN cần gọi", "KHCN needs a call"],
  "adm.f.khdn": ["KHDN cần gọi", "KHDN needs a call"],
  "adm.f.key_id": ["Mã khoá", "Key id"],
  "adm.f.created_at": ["Tạo lúc", "Created"],
  "adm.f.revoked_at": ["Hết hiệu lực lúc", "Revoked at"],
  "adm.f.node_id": ["Máy", "Node"],
  "adm.f.address": ["Địa chỉ", "Address"],
  "adm.f.load": ["Tải", "Load"],
  "adm.f.assigned": ["Cuộc gọi được giao", "Assigned calls"],
  "adm.f.heartbeat_at": ["Nhịp gần nhất", "Last heartbeat"],
  "adm.f.live": ["Hoạt động", "Live"],
  "adm.f.draining": ["Đang ngừng nhận", "Draining"],
  "adm.f.at": ["Lúc", "At"],
  "adm.f.actor": ["Người thực hiện", "Actor"],
  "adm.f.kind": ["Loại", "Kind"],
  "adm.f.object_id": ["Đối tượng", "Object"],
  "adm.f.action": ["Thao tác", "Action"],
  "adm.f.before": ["Trước", "Before"],
  "adm.f.after": ["Sau", "After"],
  "adm.f.from": ["Từ ngày", "From"],
  "adm.f.to": ["Đến ngày", "To"],

  // -- the reports console (web/js/reports.js, web/js/reports_texts.js; issue #15) --
  "rep.title": ["Báo cáo", "Reports"],
  "rep.from": ["Từ ngày", "From"],
  "rep.to": ["Đến ngày", "To"],
  "rep.bucket": ["Chia theo", "Buckets"],
  "rep.bucket.15min": ["15 phút", "15 minutes"],
  "rep.bucket.hour": ["Giờ", "Hour"],
  "rep.bucket.day": ["Ngày", "Day"],
  "rep.bucket.week": ["Tuần", "Week"],
  "rep.bucket.month": ["Tháng", "Month"],
  "rep.unit": ["Đơn vị", "Unit"],
  "rep.queue": ["Hàng đợi", "Queue"],
  "rep.group": ["Nhóm", "Group"],
  "rep.agent": ["Điện thoại viên", "Agent"],
  "rep.direction": ["Chiều gọi", "Direction"],
  "rep.direction.in": ["Gọi đến", "Inbound"],
  "rep.direction.out": ["Gọi lại", "Call-back"],
  "rep.sub_type": ["SUB_TYPE", "SUB_TYPE"],
  "rep.customer_type": ["Loại khách hàng", "Customer type"],
  "rep.dealer_channel": ["Kênh đại lý", "Dealer channel"],
  "rep.any": ["Tất cả", "All"],
  "rep.show": ["Xem báo cáo", "Show"],
  "rep.csv": ["Tải CSV", "CSV"],
  "rep.loading": ["Đang tải…", "Loading…"],
  "rep.summary": ["Tổng hợp", "Summary"],
  "rep.agents": ["Hiệu suất điện thoại viên", "Agents"],
  "rep.calls": ["Danh sách cuộc gọi", "Calls"],
  "rep.errors": ["Cuộc gọi lỗi", "Calls ended by an error"],
  "rep.more": ["Xem thêm", "More"],
  "rep.none": ["Không có dữ liệu.", "Nothing in this range."],
  "rep.live_updates": ["Tự cập nhật theo thời gian thực", "Updates live"],
  "rep.chart_title": ["Cuộc gọi theo khoảng: trả lời, bỏ cuộc, không có GDV", "Calls per bucket: answered, abandoned, no agent"],
  "rep.states_title": ["Thời gian điện thoại viên theo trạng thái", "Agent time per status"],
  "rep.decisions_title": ["Kết quả xác thực", "Decisions"],
  "rep.abandoned": ["Bỏ cuộc", "Abandoned"],
  "rep.no_agent": ["Không có GDV", "No agent"],
  "rep.calls.subscriber": ["Số thuê bao", "Subscriber number"],
  "rep.calls.dossier": ["Mã hồ sơ", "Dossier id"],
  "rep.calls.state": ["Trạng thái", "State"],
  "rep.calls.end_reason": ["Lý do kết thúc", "End reason"],
  "rep.calls.decision": ["Kết quả", "Decision"],
  "rep.calls.filter": ["Lọc", "Filter"],
  "rep.col.time": ["Thời điểm", "Placed"],
  "rep.col.unit": ["Đơn vị", "Unit"],
  "rep.col.agent": ["Điện thoại viên", "Agent"],
  "rep.col.subscriber": ["Thuê bao", "Subscriber"],
  "rep.col.state": ["Trạng thái", "State"],
  "rep.col.wait": ["Chờ (giây)", "Wait (s)"],
  "rep.col.talk": ["Đàm thoại (giây)", "Talk (s)"],
  "rep.col.decision": ["Kết quả", "Decision"],
  "rep.col.evidence": ["Chứng cứ", "Evidence"],
  "rep.col.count": ["Số cuộc", "Calls"],
  "rep.col.call_ids": ["Mã cuộc gọi (mới nhất)", "Call ids (newest)"],
  "rep.col.status": ["Trạng thái hiện tại", "Status now"],
  "rep.evidence.full": ["Đủ", "Complete"],
  "rep.evidence.partial": ["Thiếu", "Missing"],
  // figures (docs/reports.md)
  "fig.queued": ["Vào hàng đợi", "Queued"],
  "fig.answered": ["Đã trả lời", "Answered"],
  "fig.abandoned": ["Bỏ cuộc", "Abandoned"],
  "fig.abandoned_in_queue": ["Bỏ cuộc khi chờ", "Abandoned in queue"],
  "fig.abandoned_ringing": ["Bỏ cuộc khi đổ chuông", "Abandoned while ringing"],
  "fig.no_agent": ["Không có GDV", "No agent"],
  "fig.missed_offers": ["Nhỡ (hết giờ đổ chuông)", "Missed offers"],
  "fig.rejected_offers": ["GDV từ chối", "Rejected offers"],
  "fig.service_level_percent": ["Mức phục vụ (%)", "Service level (%)"],
  "fig.abandon_rate_percent": ["Tỷ lệ bỏ cuộc (%)", "Abandon rate (%)"],
  "fig.answer_rate_percent": ["Tỷ lệ nhận (%)", "Answer rate (%)"],
  "fig.avg_speed_of_answer_s": ["Thời gian chờ trả lời TB (giây)", "Average speed of answer (s)"],
  "fig.avg_abandon_time_s": ["Thời gian chờ trước khi bỏ TB (giây)", "Average abandon time (s)"],
  "fig.longest_wait_s": ["Chờ lâu nhất (giây)", "Longest wait (s)"],
  "fig.avg_talk_s": ["Đàm thoại TB (giây)", "Average talk (s)"],
  "fig.avg_wrap_up_s": ["Xử lý sau cuộc gọi TB (giây)", "Average wrap-up (s)"],
  "fig.avg_handle_s": ["Thời gian xử lý TB (giây)", "Average handle time (s)"],
  "fig.occupancy_percent": ["Tỷ lệ bận (%)", "Occupancy (%)"],
  "fig.callbacks_placed": ["Gọi lại", "Call-backs placed"],
  "fig.callbacks_answered": ["Gọi lại được nghe", "Call-backs answered"],
  "fig.decided": ["Đã ra kết quả", "Decided"],
  "fig.evidence_complete_percent": ["Đủ chứng cứ (%)", "Evidence complete (%)"],
  "fig.decisions": ["Kết quả A/R/C/D", "Decisions A/R/C/D"],
  // live tiles
  "tile.sl": ["Mức phục vụ hôm nay", "Service level today"],
  "tile.answered": ["Đã trả lời / vào hàng đợi", "Answered / queued"],
  "tile.abandoned": ["Bỏ cuộc", "Abandoned"],
  "tile.asa": ["Chờ trả lời TB", "Speed of answer"],
  "tile.waiting": ["Đang chờ", "Waiting now"],
  "tile.longest": ["Chờ lâu nhất (hiện tại / hôm nay)", "Longest wait (now / today)"],
  "tile.agents": ["Điện thoại viên", "Agents"],
  "tile.target": ["mục tiêu {target}% trong {seconds} giây", "target {target}% within {seconds} s"],
  // names of states, events, reasons, decisions, actors
  "state.in.N": ["Mới, đang chờ", "New, waiting"],
  "state.in.W": ["Đang đổ chuông", "Ringing"],
  "state.in.A": ["GDV đã nhận", "Accepted"],
  "state.in.R": ["GDV từ chối", "Rejected by the agent"],
  "state.in.M": ["Nhỡ (hết giờ đổ chuông)", "Missed (rang out)"],
  "state.in.E": ["Khách gác máy trước khi nhận", "Caller hung up before the answer"],
  "state.in.T": ["Không có cuộc gọi đến", "No call arrived"],
  "state.in.CONNECTED": ["Đang đàm thoại", "Connected"],
  "state.in.RECONNECTING": ["Đang kết nối lại", "Reconnecting"],
  "state.in.FINISHED": ["Đã kết thúc", "Finished"],
  "state.out.N": ["Đang gọi khách hàng", "Calling the customer"],
  "state.out.A": ["Khách đã nghe", "Answered"],
  "state.out.C": ["Hoàn tất", "Completed"],
  "state.out.F": ["Hệ thống giải phóng", "Released by housekeeping"],
  "state.out.E": ["GDV hủy", "Cancelled by the agent"],
  "state.out.T": ["Khách không nghe", "Not answered"],
  "state.out.I": ["Thiết bị chưa đăng ký", "Device not registered"],
  "event.create": ["tạo cuộc gọi", "call created"],
  "event.offer": ["đổ chuông tại GDV", "offered to an agent"],
  "event.accept": ["nhận cuộc gọi", "accepted"],
  "event.reject": ["từ chối", "rejected"],
  "event.ring_timeout": ["hết giờ đổ chuông", "rang out"],
  "event.requeue": ["quay lại hàng đợi", "back in the queue"],
  "event.caller_hangup": ["khách gác máy", "caller hung up"],
  "event.no_agent": ["không có GDV", "no agent"],
  "event.no_call_timeout": ["không có hình/tiếng", "no media arrived"],
  "event.media_connected": ["đã có hình và tiếng", "media connected"],
  "event.party_dropped": ["một bên mất kết nối", "a party dropped"],
  "event.party_resumed": ["đã kết nối lại", "party back"],
  "event.grace_expired": ["quá thời gian chờ kết nối lại", "reconnect grace expired"],
  "event.end": ["kết thúc", "ended"],
  "event.sweep": ["hệ thống dọn dẹp", "swept by housekeeping"],
  "event.decided": ["ghi nhận kết quả", "decision recorded"],
  "event.decline": ["khách từ chối", "declined"],
  "event.cancel": ["hủy", "cancelled"],
  "event.device_not_registered": ["thiết bị chưa đăng ký", "device not registered"],
  "reason.completed": ["kết thúc bình thường", "completed"],
  "reason.caller_hung_up": ["khách gác máy", "caller hung up"],
  "reason.no_agent": ["không có GDV", "no agent available"],
  "reason.grace_expired": ["mất kết nối quá lâu", "did not reconnect in time"],
  "reason.mobile_left": ["ứng dụng di động thoát", "the mobile left"],
  "reason.agent_left": ["GDV thoát", "the agent left"],
  "reason.media_failed": ["lỗi hình/tiếng", "media failed"],
  "reason.media_node_lost": ["máy chủ media ngừng", "media node lost"],
  "reason.swept": ["hệ thống dọn dẹp", "swept"],
  "reason.no_call_arrived": ["không có cuộc gọi đến", "no call arrived"],
  "reason.agent_cancelled": ["GDV hủy", "the agent cancelled"],
  "reason.no_answer": ["khách không nghe", "no answer"],
  "reason.declined": ["khách từ chối", "declined"],
  "reason.device_not_registered": ["thiết bị chưa đăng ký", "device not registered"],
  "reason.call_requested": ["khách yêu cầu cuộc gọi", "call requested"],
  "reason.call_back_started": ["GDV gọi lại", "call-back started"],
  "reason.status_control": ["GDV đổi trạng thái", "status control"],
  "reason.mobile_dropped": ["di động mất kết nối", "the mobile dropped"],
  "reason.agent_dropped": ["GDV mất kết nối", "the agent dropped"],
  "reason.mobile_resumed": ["di động kết nối lại", "the mobile is back"],
  "reason.agent_resumed": ["GDV kết nối lại", "the agent is back"],
  "reason.wrap_up_limit_passed": ["quá thời gian hoàn tất hồ sơ", "wrap-up limit passed"],
  "reason.call_is_over": ["cuộc gọi đã kết thúc", "the call is over"],
  "decision.A": ["Duyệt", "Approved"],
  "decision.R": ["Từ chối", "Rejected"],
  "decision.C": ["Hậu kiểm", "Post-audit"],
  "decision.D": ["Không liên lạc được", "Unreachable"],
  "actor.agent": ["Điện thoại viên", "Agent"],
  "offer.PENDING": ["đang đổ chuông", "ringing"],
  "offer.ACCEPTED": ["đã nhận", "accepted"],
  "offer.REJECTED": ["từ chối", "rejected"],
  "offer.MISSED": ["nhỡ", "missed"],
  "offer.CANCELLED": ["khách gác máy", "caller hung up"],
  "offer.RESCINDED": ["hệ thống rút lại", "withdrawn"],
};

export const ERRORS = {
  BAD_JSON: {
    vi: "Ứng dụng đã gửi một tin nhắn hỏng. Tải lại trang; nếu vẫn lỗi, báo quản trị.",
    en: "The page sent a broken message. Reload the page; if it persists, tell your administrator.",
  },
  BAD_MESSAGE: {
    vi: "Dữ liệu gửi lên không hợp lệ. Kiểm tra lại thông tin vừa nhập.",
    en: "The request was not valid. Check what you entered.",
  },
  UNKNOWN_ACTION: {
    vi: "Máy chủ không hiểu yêu cầu này: trang có thể đã cũ. Tải lại trang.",
    en: "The server does not know this request: the page may be out of date. Reload it.",
  },
  UNSUPPORTED_PROTOCOL: {
    vi: "Phiên bản trang không còn được hỗ trợ. Tải lại trang.",
    en: "This version of the page is no longer supported. Reload it.",
  },
  HELLO_REQUIRED: {
    vi: "Kết nối chưa sẵn sàng. Đợi vài giây rồi thử lại.",
    en: "The connection is not ready yet. Wait a moment and try again.",
  },
  FORBIDDEN_ACTION: {
    vi: "Tài khoản của bạn không được làm thao tác này.",
    en: "Your account may not do this.",
  },
  RATE_LIMITED: {
    vi: "Trang gửi quá nhiều yêu cầu. Đợi vài giây rồi thử lại.",
    en: "The page sent too many requests. Wait a few seconds and try again.",
  },
  PAYLOAD_TOO_LARGE: {
    vi: "Dữ liệu gửi lên quá lớn.",
    en: "What was sent is too large.",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    vi: "Yêu cầu phải gửi dữ liệu dạng JSON. Tải lại trang; nếu vẫn lỗi, báo quản trị.",
    en: "The request must carry JSON. Reload the page; if it persists, tell your administrator.",
  },
  METHOD_NOT_ALLOWED: {
    vi: "Máy chủ không nhận yêu cầu theo cách này: trang có thể đã cũ. Tải lại trang.",
    en: "The server does not take this request that way: the page may be out of date. Reload it.",
  },
  AUTH_REQUIRED: {
    vi: "Bạn cần đăng nhập.",
    en: "You need to log in.",
  },
  TOO_MANY_ATTEMPTS: {
    vi: "Đăng nhập sai quá nhiều lần. Đợi hết thời gian khóa rồi thử lại với mật khẩu đúng.",
    en: "Too many failed logins. Wait until the lock ends, then try again with the right password.",
  },
  API_KEY_INVALID: {
    vi: "Khóa API của đơn vị không hợp lệ hoặc đã bị thu hồi. Báo quản trị.",
    en: "The unit's API key is unknown or revoked. Tell your administrator.",
  },
  INVALID_CREDENTIALS: {
    vi: "Sai tên đăng nhập hoặc mật khẩu.",
    en: "Wrong username or password.",
  },
  ACCOUNT_DISABLED: {
    vi: "Tài khoản đã bị khóa. Liên hệ quản trị.",
    en: "This account is disabled. Contact your administrator.",
  },
  TOKEN_INVALID: {
    vi: "Phiên đăng nhập không hợp lệ. Hãy đăng nhập lại.",
    en: "Your login is not valid. Please log in again.",
  },
  TOKEN_REVOKED: {
    vi: "Phiên đăng nhập này đã bị thu hồi (đã đăng xuất, hoặc tài khoản đã thay đổi). Hãy đăng nhập lại.",
    en: "This login was revoked (logged out, or the account changed). Log in again.",
  },
  TOKEN_EXPIRED: {
    vi: "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.",
    en: "Your login has expired. Please log in again.",
  },
  NOT_FOUND: {
    vi: "Không tìm thấy hồ sơ. Kiểm tra lại mã hồ sơ.",
    en: "No such dossier. Check the dossier id.",
  },
  DOSSIER_OTHER_UNIT: {
    vi: "Hồ sơ thuộc đơn vị khác.",
    en: "The dossier belongs to another unit.",
  },
  AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL: {
    vi: "Tài khoản đang đổ chuông hoặc trong cuộc gọi ở nơi khác. Kết thúc cuộc gọi đó trước.",
    en: "This account is ringing or in a call elsewhere. Finish that call first.",
  },
  SESSION_REPLACED: {
    vi: "Bạn đã đăng nhập trên thiết bị khác.",
    en: "You logged in on another device.",
  },
  SESSION_ENDED: {
    vi: "Phiên làm việc đã kết thúc. Hãy đăng nhập lại.",
    en: "Your session has ended. Please log in again.",
  },
  UNIT_NOT_SERVED: {
    vi: "Đơn vị này không thuộc phạm vi bạn phục vụ.",
    en: "This unit is not among the units you serve.",
  },
  REPORT_RANGE_TOO_LONG: {
    vi: "Khoảng thời gian quá dài cho cách chia này. Rút ngắn khoảng ngày hoặc chọn chia theo ngày, tuần, tháng.",
    en: "The range is too long for these buckets. Shorten it or choose days, weeks or months.",
  },
  REPORT_FILTERS_UNSUPPORTED: {
    vi: "Không thể kết hợp các bộ lọc này. Bỏ bớt một bộ lọc (chiều gọi kết hợp với tối đa một tiêu chí khác).",
    en: "These filters cannot be combined. Drop one (direction combines with at most one other criterion).",
  },
  MAC_INVALID: {
    vi: "Chữ ký tin nhắn không hợp lệ. Tải lại trang.",
    en: "A message signature was not valid. Reload the page.",
  },
  SEQ_REPLAYED: {
    vi: "Tin nhắn bị gửi trùng. Thao tác có thể đã được thực hiện; kiểm tra lại trước khi làm lại.",
    en: "A message was sent twice. The action may already be done; check before repeating it.",
  },
  SEQ_OUT_OF_WINDOW: {
    vi: "Kết nối bị lệch thứ tự. Tải lại trang.",
    en: "The connection is out of order. Reload the page.",
  },
  MESSAGE_EXPIRED: {
    vi: "Đồng hồ máy tính sai lệch quá nhiều. Chỉnh lại giờ máy rồi tải lại trang.",
    en: "Your computer's clock is too far off. Fix the clock, then reload the page.",
  },
  ILLEGAL_TRANSITION: {
    vi: "Không thể làm thao tác này ở trạng thái hiện tại (ví dụ: hồ sơ đã có kết quả, hoặc đã quá hạn).",
    en: "This cannot be done in the current state (for example the dossier is already decided, or it is too late).",
  },
  STATE_CONFLICT: {
    vi: "Dữ liệu vừa thay đổi cùng lúc. Thử lại.",
    en: "Something changed at the same moment. Try again.",
  },
  DOSSIER_ALREADY_APPROVED: {
    vi: "Hồ sơ đã được duyệt: không cần gọi nữa.",
    en: "The dossier is already approved: no call is needed.",
  },
  DOSSIER_REJECTED: {
    vi: "Hồ sơ đã bị từ chối.",
    en: "The dossier was rejected.",
  },
  DOSSIER_IN_POST_AUDIT: {
    vi: "Hồ sơ đang hậu kiểm: không gọi được.",
    en: "The dossier is in post-audit: it cannot be called.",
  },
  KYC_AT_COUNTER_REQUIRED: {
    vi: "Hồ sơ phải xác thực tại quầy, không qua video.",
    en: "This dossier must be verified at the counter, not by video.",
  },
  VIDEO_CALL_NOT_REQUIRED: {
    vi: "Gói cước này không cần gọi video.",
    en: "This package needs no video call.",
  },
  UNKNOWN_SUB_TYPE: {
    vi: "Gói cước của hồ sơ không có trong bảng chính sách. Báo quản trị.",
    en: "The dossier's SUB_TYPE is not in the policy table. Tell your administrator.",
  },
  SUBSCRIBER_BLACKLISTED: {
    vi: "Số thuê bao nằm trong danh sách chặn.",
    en: "The subscriber number is blacklisted.",
  },
  DAILY_CALL_LIMIT_REACHED: {
    vi: "Thuê bao đã đủ số cuộc gọi thành công trong ngày.",
    en: "The subscriber reached today's limit of successful calls.",
  },
  CALL_IN_PROGRESS: {
    vi: "Hồ sơ đang có một cuộc gọi khác.",
    en: "Another call of this dossier is in progress.",
  },
  DOSSIER_IMAGES_REQUIRED: {
    vi: "Hồ sơ thiếu ảnh CCCD (mặt trước, mặt sau) hoặc ảnh chân dung hợp lệ: tải ảnh lên rồi gọi lại.",
    en: "The dossier lacks a valid ID card front, back or portrait: upload them, then call again.",
  },
  NO_AGENT_AVAILABLE: {
    vi: "Hiện không có điện thoại viên rảnh.",
    en: "No agent is available right now.",
  },
  CALL_NOT_FOUND: {
    vi: "Không tìm thấy cuộc gọi (hoặc cuộc gọi không phải của bạn).",
    en: "No such call (or the call is not yours).",
  },
  OFFER_NOT_FOUND: {
    vi: "Cuộc gọi không còn đổ chuông ở chỗ bạn.",
    en: "This call is no longer ringing for you.",
  },
  REASON_REQUIRED: {
    vi: "Hãy nhập lý do cho quyết định này.",
    en: "Enter a reason for this decision.",
  },
  DECISION_NOT_ALLOWED: {
    vi: "Không thể ra quyết định này qua cuộc gọi này: A và C cần cuộc gọi đã trả lời và đã có hình ảnh hai chiều; R cần cuộc gọi đã trả lời; D cần cuộc gọi đã trả lời hoặc cuộc gọi lại không ai nghe máy. Hồ sơ không thay đổi.",
    en: "This decision is not allowed through this call: A and C need an answered call with video both ways; R needs an answered call; D needs an answered call or a call-back nobody answered. The dossier is unchanged.",
  },
  FACE_SNAPSHOT_REQUIRED: {
    vi: "Để duyệt (A), cần một ảnh chụp có khuôn mặt khách hàng: đề nghị khách nhìn thẳng vào camera rồi chụp lại.",
    en: "Approving (A) needs a snapshot with the customer's face: ask the customer to face the camera and take it again.",
  },
  AGENT_FROM_NOT_FOUND: {
    vi: "Tài khoản của bạn chưa được khai báo trong tổng đài. Báo quản trị.",
    en: "Your account is not set up in the switchboard. Tell your administrator.",
  },
  FROM_NUMBER_NOT_FOUND: {
    vi: "Đơn vị của bạn chưa có đầu số để gọi ra. Báo quản trị.",
    en: "Your unit has no hotline to call out from. Tell your administrator.",
  },
  FROM_NUMBER_NOT_ALLOWS_AGENT_CALL_OUT: {
    vi: "Đầu số không cho phép nhóm của bạn gọi ra.",
    en: "The hotline does not allow your group to call out.",
  },
  TO_NUMBER_NOT_ALLOWS_CALLOUT: {
    vi: "Số của khách hàng nằm trong danh sách chặn gọi ra.",
    en: "The customer's number is on the call-out blacklist.",
  },
  DEVICE_NOT_REGISTERED: {
    vi: "Điện thoại của khách hàng chưa đăng ký nhận cuộc gọi lại: không gọi lại được.",
    en: "The customer's phone is not registered for call-backs: it cannot be called back.",
  },
  DEVICE_LIMIT_REACHED: {
    vi: "Đơn vị đã dùng hết số thiết bị được cấp phép.",
    en: "The unit has used all its device licences.",
  },
  INTERNAL_ERROR: {
    vi: "Lỗi hệ thống. Thử lại; nếu vẫn lỗi, báo quản trị kèm mã cuộc gọi.",
    en: "A server error. Try again; if it persists, tell your administrator with the call id.",
  },
  IDEMPOTENCY_KEY_REQUIRED: {
    vi: "Yêu cầu POST phải có tiêu đề Idempotency-Key (một mã ngẫu nhiên mới cho mỗi yêu cầu).",
    en: "A POST needs an Idempotency-Key header (a fresh random key per request).",
  },
  IDEMPOTENCY_KEY_REUSED: {
    vi: "Idempotency-Key này đã dùng cho một yêu cầu khác: dùng mã mới cho yêu cầu mới.",
    en: "This Idempotency-Key was used for another request: use a new key for a new request.",
  },
  REQUEST_IN_PROGRESS: {
    vi: "Yêu cầu đầu tiên với Idempotency-Key này đang chạy: thử lại sau một giây.",
    en: "The first request with this Idempotency-Key is still running: retry in a second.",
  },
  DOSSIER_DECIDED: {
    vi: "Hồ sơ đã có kết quả xác thực: không thể thay đổi nữa.",
    en: "The dossier is decided: it can no longer change.",
  },
  IMAGE_TYPE_UNSUPPORTED: {
    vi: "Tệp tải lên không phải ảnh JPEG hoặc PNG đúng loại đã khai báo.",
    en: "The upload is not a JPEG or PNG image of the declared type.",
  },
  IMAGE_SIZE_OUT_OF_RANGE: {
    vi: "Ảnh quá nhỏ hoặc quá lớn (từ 2 KB đến 10 MB).",
    en: "The image is too small or too large (2 KB to 10 MB).",
  },
  IMAGE_NOT_DECODABLE: {
    vi: "Ảnh bị hỏng hoặc không đầy đủ: tải lên lại.",
    en: "The image is corrupt or incomplete: upload it again.",
  },
  IMAGE_DIMENSIONS_OUT_OF_RANGE: {
    vi: "Kích thước ảnh không hợp lệ: tải ảnh chụp gốc, không phải ảnh thu nhỏ.",
    en: "The picture's dimensions are out of range: upload the original capture, not a thumbnail.",
  },
  IMAGE_NO_FACE: {
    vi: "Không thấy khuôn mặt trên ảnh chân dung: chụp lại, khách hàng nhìn thẳng vào máy.",
    en: "No face was found on the portrait: capture it again with the customer facing the camera.",
  },
  WEBHOOK_NOT_FOUND: {
    vi: "Không có đăng ký webhook này.",
    en: "No such webhook subscription.",
  },
  DELIVERY_NOT_FOUND: {
    vi: "Không có lần gửi webhook này.",
    en: "No such webhook delivery.",
  },
  WEBHOOK_URL_REFUSED: {
    vi: "Không gửi webhook đến địa chỉ này: dùng địa chỉ HTTPS công khai.",
    en: "Webhooks cannot go to this URL: give a public HTTPS address.",
  },
  WEBHOOK_LIMIT_REACHED: {
    vi: "Đơn vị đã có số đăng ký webhook tối đa: xóa bớt một đăng ký.",
    en: "Your unit has the most webhook subscriptions allowed: delete one.",
  },
  SERVICE_UNAVAILABLE: {
    vi: "Hệ thống tạm thời không truy cập được dữ liệu. Thử lại sau vài giây; nếu vẫn lỗi, báo quản trị.",
    en: "The system cannot reach its data right now. Try again in a few seconds; if it persists, tell your administrator.",
  },
  // tickets for missed calls (seed 004)
  TICKET_NOT_FOUND: {
    vi: "Không có phiếu ghi này (hoặc phiếu thuộc đơn vị khác).",
    en: "No such ticket (or it belongs to another unit).",
  },
  TICKET_ASSIGNEE_NOT_FOUND: {
    vi: "Không giao được phiếu ghi cho nhóm hoặc tổng đài viên này: chọn nhóm hoặc tổng đài viên của đơn vị phục vụ.",
    en: "The ticket cannot be assigned to this group or agent: choose one of the serving unit.",
  },
  GET_USER_MEDIA_ERROR: {
    vi: "Không mở được camera hoặc micro.",
    en: "The camera or microphone could not be opened.",
  },
  REQUEST_ANSWER_URL_ERROR: {
    vi: "Không mở được trang thông tin khách hàng khi nhận cuộc gọi.",
    en: "The customer page opened on answer could not be reached.",
  },
  ANSWER_URL_NOT_FRAMEABLE: {
    vi: "Trang điện thoại viên sẽ không hiển thị được địa chỉ này trong khung: hệ thống không cho phép nhúng trang từ nguồn (origin) này. Thiết lập vẫn được lưu. Nhờ người vận hành thêm nguồn này vào danh sách được nhúng, hoặc mở ở thẻ mới (tab).",
    en: "The agent page will not be able to show this URL in its panel: the deployment does not let the pages frame its origin. The setting is saved. Ask the operator to add the origin to the frame origins, or open it in a new tab.",
  },
  MEDIA_NODE_UNAVAILABLE: {
    vi: "Hiện không có máy chủ hình ảnh nào nhận được cuộc gọi. Đợi vài giây; trang sẽ thử lại khi kết nối lại. Nếu vẫn lỗi, báo quản trị.",
    en: "No media server can carry the call right now. Wait a few seconds; the page retries when it reconnects. If it persists, tell your administrator.",
  },
  MEDIA_NODE_LOST: {
    vi: "Máy chủ hình ảnh của cuộc gọi đã dừng; trang đang kết nối lại hình ảnh qua máy chủ khác.",
    en: "The call's media server stopped; the page is reconnecting the video through another one.",
  },
  MEDIA_NODE_FULL: {
    vi: "Máy chủ hình ảnh đang quá tải. Thử lại sau ít phút.",
    en: "The media server is full. Try again in a few minutes.",
  },
  MEDIA_CALL_EXISTS: {
    vi: "Hình ảnh của cuộc gọi này đã được mở.",
    en: "The media of this call is already open.",
  },
  MEDIA_BAD_CALL_ID: {
    vi: "Mã cuộc gọi không hợp lệ cho máy chủ hình ảnh.",
    en: "The call id is not valid for the media server.",
  },
  MEDIA_CALL_NOT_FOUND: {
    vi: "Máy chủ hình ảnh không có cuộc gọi này (có thể đã kết thúc).",
    en: "The media server does not carry this call (it may have ended).",
  },
  MEDIA_CALL_STATE: {
    vi: "Hình ảnh của cuộc gọi chưa sẵn sàng cho thao tác này.",
    en: "The call's media cannot do this right now.",
  },
  MEDIA_BAD_PARTY: {
    vi: "Bên tham gia cuộc gọi không hợp lệ.",
    en: "Unknown call party.",
  },
  MEDIA_BAD_SDP: {
    vi: "Trình duyệt gửi thông số hình ảnh không dùng được. Tải lại trang.",
    en: "The browser's video offer could not be used. Reload the page.",
  },
  MEDIA_CODEC_UNSUPPORTED: {
    vi: "Trình duyệt không hỗ trợ chuẩn hình ảnh VP8/Opus. Dùng Chrome hoặc Edge bản mới.",
    en: "The browser offers no VP8/Opus. Use a recent Chrome or Edge.",
  },
  MEDIA_NO_CUSTOMER_VIDEO: {
    vi: "Chưa nhận được hình của khách hàng. Đợi hình hiện lên rồi chụp lại.",
    en: "No video from the customer yet. Wait for the picture, then take the snapshot again.",
  },
  MEDIA_SNAPSHOT_TIMEOUT: {
    vi: "Hình của khách hàng đến quá chậm. Đề nghị khách giữ yên máy rồi chụp lại.",
    en: "The customer's picture came too slowly. Ask them to hold still, then try again.",
  },
  MEDIA_SNAPSHOT_FAILED: {
    vi: "Không chụp được ảnh. Chụp lại; nếu vẫn lỗi, báo quản trị kèm mã cuộc gọi.",
    en: "The snapshot failed. Try again; if it persists, report it with the call id.",
  },
  MEDIA_WAITING_MEDIA_INVALID: {
    vi: "Video chờ của hàng đợi bị lỗi. Báo quản trị.",
    en: "The queue's waiting video is broken. Tell your administrator.",
  },
  MEDIA_STORAGE_ERROR: {
    vi: "Máy chủ hình ảnh không lưu được tệp. Báo quản trị kèm mã cuộc gọi.",
    en: "The media server could not store a file. Tell your administrator with the call id.",
  },
  RECORDING_NOT_FOUND: {
    vi: "Cuộc gọi này không có bản ghi hình.",
    en: "There is no recording of this call.",
  },
  RECORDING_STILL_ACTIVE: {
    vi: "Bản ghi hình vẫn đang được ghi. Thử lại sau.",
    en: "The recording is still being written. Try again later.",
  },
  MEDIA_NODE_NOT_ASSIGNED: {
    vi: "Máy chủ hình ảnh này không phục vụ cuộc gọi. Báo quản trị kèm mã cuộc gọi.",
    en: "This media server does not carry the call. Tell your administrator with the call id.",
  },
  MEDIA_KEY_OUTSIDE_CALL: {
    vi: "Tệp hình ảnh không thuộc cuộc gọi này nên không được lưu. Báo quản trị kèm mã cuộc gọi.",
    en: "The media file does not belong to this call and was not kept. Tell your administrator with the call id.",
  },
  RECORDING_OBJECT_MISSING: {
    vi: "Không tìm thấy tệp ghi hình đã báo. Báo quản trị kèm mã cuộc gọi.",
    en: "The reported recording file is missing. Tell your administrator with the call id.",
  },
  RECORDING_MISMATCH: {
    vi: "Tệp ghi hình không khớp với thông tin đã báo nên không được ghi nhận. Báo quản trị kèm mã cuộc gọi.",
    en: "The recording file does not match what was reported and was not accepted. Tell your administrator with the call id.",
  },
  EVIDENCE_INVALID: {
    vi: "Bộ chứng cứ của hồ sơ không khớp: có thể đã bị thay đổi. Báo quản trị ngay.",
    en: "The dossier's evidence does not verify: it may have been tampered with. Tell your administrator now.",
  },
  // -- the agent's and supervisor's workspace (issue #16) --
  AGENT_NOT_AVAILABLE: {
    vi: "Trạng thái của bạn không cho phép thao tác này: hãy chọn “Sẵn sàng” trước.",
    en: "Your status does not allow this: set yourself Available first.",
  },
  AGENT_BUSY: {
    vi: "Điện thoại viên đang đổ chuông hoặc trong cuộc gọi: đợi cuộc gọi kết thúc rồi thử lại.",
    en: "The agent is ringing or in a call: wait until the call ends, then try again.",
  },
  // -- administration (web/admin.html) --
  ADMIN_REQUIRED: {
    vi: "Chỉ quản trị viên được làm thao tác này. Đăng nhập bằng tài khoản quản trị.",
    en: "Only an administrator may do this. Log in with an admin account.",
  },
  ADMIN_OTHER_UNIT: {
    vi: "Đối tượng này thuộc đơn vị bạn không quản trị. Không có gì bị thay đổi.",
    en: "This belongs to a unit you do not administer. Nothing was changed.",
  },
  ADMIN_SYSTEM_ONLY: {
    vi: "Chỉ quản trị viên toàn hệ thống được thay đổi mục này.",
    en: "Only a system-wide administrator may change this.",
  },
  ADMIN_NOT_FOUND: {
    vi: "Không tìm thấy đối tượng này (có thể vừa bị xoá). Tải lại danh sách.",
    en: "No such object (it may just have been deleted). Reload the list.",
  },
  ADMIN_ALREADY_EXISTS: {
    vi: "Mã này đã được dùng. Chọn mã khác hoặc sửa đối tượng đang có.",
    en: "This id is taken. Choose another one, or edit the existing object.",
  },
  PRECONDITION_FAILED: {
    vi: "Người khác vừa thay đổi đối tượng này. Tải lại rồi sửa lại; không có gì bị thay đổi.",
    en: "Someone else changed this object meanwhile. Reload it and redo your change; nothing was changed.",
  },
  ADMIN_REFERENCE_INVALID: {
    vi: "Thay đổi nhắc tới một mục không tồn tại hoặc thuộc đơn vị khác.",
    en: "The change names something that does not exist or belongs to another unit.",
  },
  UNIT_IN_USE: {
    vi: "Đơn vị vẫn còn nhóm, hàng đợi, hotline, người dùng hoặc khoá API.",
    en: "The unit still has groups, queues, hotlines, users or API keys.",
  },
  QUEUE_IN_USE: {
    vi: "Hàng đợi đang được dùng (có cuộc gọi đang chờ hoặc hotline trỏ tới).",
    en: "The queue is in use (calls are waiting, or a hotline sends calls to it).",
  },
  GROUP_ONLY_ROUTE: {
    vi: "Nhóm này là tuyến duy nhất của một hotline: thêm nhóm khác vào hàng đợi trước.",
    en: "This group is the only route of a hotline: add another group to the queue first.",
  },
  GROUP_IN_USE: {
    vi: "Nhóm vẫn đang được dùng bởi hàng đợi, hotline hoặc điện thoại viên.",
    en: "The group is still used by a queue, a hotline or agents.",
  },
  USER_IN_CALL: {
    vi: "Điện thoại viên đang trong cuộc gọi. Thử lại sau cuộc gọi.",
    en: "The agent is in a call. Try again after the call.",
  },
  LOGGED_IN_ELSEWHERE: {
    vi: "Tài khoản đang đăng nhập trên thiết bị khác. Đăng xuất ở thiết bị đó trước.",
    en: "This account is logged in on another device. Log out there first.",
  },
  PASSWORD_CHANGE_REQUIRED: {
    vi: "Bạn phải đặt mật khẩu mới.",
    en: "You must choose a new password.",
  },
  CSV_INVALID: {
    vi: "Không đọc được tệp CSV (UTF-8, tối đa 1 MB, 10.000 dòng).",
    en: "The CSV file cannot be read (UTF-8, at most 1 MB and 10,000 lines).",
  },
  MEDIA_FILE_REJECTED: {
    vi: "Tệp âm thanh/video tải lên bị từ chối (sai định dạng hoặc quá lớn).",
    en: "The uploaded media file was rejected (wrong type or too large).",
  },
};

let current = (() => {
  try {
    const saved = localStorage.getItem(STORE_KEY);
    return LANGS.includes(saved) ? saved : "vi";
  } catch {
    return "vi";
  }
})();

export function lang() {
  return current;
}

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (vars && name in vars ? String(vars[name]) : whole));
}

export function t(key, vars) {
  const entry = TEXTS[key];
  if (!entry) return key;
  return fill(entry[LANGS.indexOf(current)], vars);
}

export function has(key) {
  return key in TEXTS;
}

/** The human sentence for an error code (the server's English message is the fallback). */
export function errorText(code, serverMessage) {
  const entry = ERRORS[code];
  if (entry) return entry[current];
  return serverMessage || t("error.unknown");
}

/** Fill every [data-i18n] (text), [data-i18n-placeholder], [data-i18n-title] and [data-i18n-aria] in root. */
export function applyTranslations(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
}

const listeners = new Set();

/** Call fn() after every language change (pages re-render what they built with t()). */
export function onLangChange(fn) {
  listeners.add(fn);
}

export function setLang(next) {
  if (!LANGS.includes(next)) return;
  current = next;
  try {
    localStorage.setItem(STORE_KEY, next);
  } catch {
    // private mode: the choice lasts until the page closes
  }
  applyTranslations();
  for (const fn of listeners) fn();
}

export function toggleLang() {
  setLang(current === "vi" ? "en" : "vi");
}
