// The reports' texts (Vietnamese and English) and the names a supervisor reads instead of codes: call
// states (inbound and call-back letters mean different things), events of a call's timeline, end
// reasons, decisions, actors. Registered into i18n.js's texts when imported.

import { addTexts, t } from "./i18n.js";

addTexts({
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
  "rep.agent": ["Giao dịch viên", "Agent"],
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
  "rep.agents": ["Hiệu suất giao dịch viên", "Agents"],
  "rep.calls": ["Danh sách cuộc gọi", "Calls"],
  "rep.errors": ["Cuộc gọi lỗi", "Calls ended by an error"],
  "rep.more": ["Xem thêm", "More"],
  "rep.none": ["Không có dữ liệu.", "Nothing in this range."],
  "rep.live_updates": ["Tự cập nhật theo thời gian thực", "Updates live"],
  "rep.chart_title": ["Cuộc gọi theo khoảng: trả lời, bỏ cuộc, không có GDV", "Calls per bucket: answered, abandoned, no agent"],
  "rep.states_title": ["Thời gian giao dịch viên theo trạng thái", "Agent time per status"],
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
  "rep.col.agent": ["Giao dịch viên", "Agent"],
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
  "tile.agents": ["Giao dịch viên", "Agents"],
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
  "actor.system": ["Hệ thống", "System"],
  "actor.router": ["Định tuyến", "Router"],
  "actor.mobile": ["Khách hàng (di động)", "Customer (mobile)"],
  "actor.agent": ["Giao dịch viên", "Agent"],
  "offer.PENDING": ["đang đổ chuông", "ringing"],
  "offer.ACCEPTED": ["đã nhận", "accepted"],
  "offer.REJECTED": ["từ chối", "rejected"],
  "offer.MISSED": ["nhỡ", "missed"],
  "offer.CANCELLED": ["khách gác máy", "caller hung up"],
  "offer.RESCINDED": ["hệ thống rút lại", "withdrawn"],
});

function named(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

/** "Đã kết thúc" for FINISHED of an inbound call; a call-back's letters mean other things. */
export function stateName(direction, state) {
  if (!state) return t("none");
  return named(`state.${direction === "out" ? "out" : "in"}.${state}`, state);
}

export function eventName(event) {
  return named(`event.${event}`, event);
}

/** A reason of the log: a known one in the reader's language ("call requested" -> reason.call_requested),
 * else as written (an agent's own reason for a decision). */
export function reasonName(reason) {
  return reason ? named(`reason.${reason.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`, reason) : "";
}

export function decisionName(decision) {
  return decision ? `${decision} — ${named(`decision.${decision}`, decision)}` : t("none");
}

export function offerStateName(state) {
  return named(`offer.${state}`, state);
}

/** A person for an actor id: an agent's name when known (names: id -> name), else the role's word. */
export function actorName(actor, names) {
  if (names && names.has(actor)) return names.get(actor);
  return named(`actor.${actor}`, actor);
}
