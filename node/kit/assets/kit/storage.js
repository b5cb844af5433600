/* Browser storage that never throws (private mode, storage disabled): session storage for the
   token and the open tab, local storage for choices kept across sessions (language, chart mode). */

export function ssGet(k) { try { return window.sessionStorage.getItem(k); } catch (e) { return null; } }
export function ssSet(k, v) {
  try { if (v == null) window.sessionStorage.removeItem(k); else window.sessionStorage.setItem(k, v); } catch (e) { /* private mode */ }
}
export function lsGet(k) { try { return window.localStorage.getItem(k); } catch (e) { return null; } }
export function lsSet(k, v) { try { window.localStorage.setItem(k, v); } catch (e) { /* ignore */ } }
