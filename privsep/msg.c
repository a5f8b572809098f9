/* Message type names for logs: see msg.h. */
#include "msg.h"

const char *
msg_name(uint32_t type)
{
	switch (type) {
	case MSG_CONF: return "MSG_CONF";
	case MSG_READY: return "MSG_READY";
	case MSG_LOG: return "MSG_LOG";
	case MSG_STATUS: return "MSG_STATUS";
	case MSG_SHUTDOWN: return "MSG_SHUTDOWN";
	case MSG_CHANNEL: return "MSG_CHANNEL";
	case MSG_ACCOUNTS: return "MSG_ACCOUNTS";
	case MSG_ALIASES: return "MSG_ALIASES";
	case MSG_ACCOUNTS_R: return "MSG_ACCOUNTS_R";
	case MSG_ADMIT: return "MSG_ADMIT";
	case MSG_EVENT: return "MSG_EVENT";
	case MSG_CTL_QUERY: return "MSG_CTL_QUERY";
	case MSG_CTL_STATE: return "MSG_CTL_STATE";
	case MSG_CTL_RELOAD: return "MSG_CTL_RELOAD";
	case MSG_CTL_STOP: return "MSG_CTL_STOP";
	case MSG_CTL_DONE: return "MSG_CTL_DONE";
	case MSG_IMAP_AUTH: return "MSG_IMAP_AUTH";
	case MSG_IMAP_AUTH_R: return "MSG_IMAP_AUTH_R";
	case MSG_FOLDER_LIST: return "MSG_FOLDER_LIST";
	case MSG_FOLDER_LIST_R: return "MSG_FOLDER_LIST_R";
	case MSG_FOLDER_CREATE: return "MSG_FOLDER_CREATE";
	case MSG_FOLDER_CREATE_R: return "MSG_FOLDER_CREATE_R";
	case MSG_FOLDER_DELETE: return "MSG_FOLDER_DELETE";
	case MSG_FOLDER_DELETE_R: return "MSG_FOLDER_DELETE_R";
	case MSG_FOLDER_RENAME: return "MSG_FOLDER_RENAME";
	case MSG_FOLDER_RENAME_R: return "MSG_FOLDER_RENAME_R";
	case MSG_FOLDER_SUBSCRIBE: return "MSG_FOLDER_SUBSCRIBE";
	case MSG_FOLDER_SUBSCRIBE_R: return "MSG_FOLDER_SUBSCRIBE_R";
	case MSG_SELECT: return "MSG_SELECT";
	case MSG_SELECT_R: return "MSG_SELECT_R";
	case MSG_FETCH: return "MSG_FETCH";
	case MSG_FETCH_R: return "MSG_FETCH_R";
	case MSG_VIEW_SYNC: return "MSG_VIEW_SYNC";
	case MSG_VIEW_SYNC_R: return "MSG_VIEW_SYNC_R";
	case MSG_UNSELECT: return "MSG_UNSELECT";
	case MSG_UNSELECT_R: return "MSG_UNSELECT_R";
	case MSG_CHANGED: return "MSG_CHANGED";
	case MSG_FOLDER_STATUS: return "MSG_FOLDER_STATUS";
	case MSG_FOLDER_STATUS_R: return "MSG_FOLDER_STATUS_R";
	case MSG_IMAP_APPEND: return "MSG_IMAP_APPEND";
	case MSG_IMAP_APPEND_R: return "MSG_IMAP_APPEND_R";
	case MSG_STORE_FLAGS: return "MSG_STORE_FLAGS";
	case MSG_STORE_FLAGS_R: return "MSG_STORE_FLAGS_R";
	case MSG_EXPUNGE: return "MSG_EXPUNGE";
	case MSG_EXPUNGE_R: return "MSG_EXPUNGE_R";
	case MSG_COPY: return "MSG_COPY";
	case MSG_COPY_R: return "MSG_COPY_R";
	case MSG_SEEN: return "MSG_SEEN";
	case MSG_SEEN_R: return "MSG_SEEN_R";
	case MSG_MBOX_STAT: return "MSG_MBOX_STAT";
	case MSG_MBOX_STAT_R: return "MSG_MBOX_STAT_R";
	case MSG_AUTH_CHANNEL: return "MSG_AUTH_CHANNEL";
	case MSG_AUTH_CHECK: return "MSG_AUTH_CHECK";
	case MSG_AUTH_CHECK_R: return "MSG_AUTH_CHECK_R";
	case MSG_LOOKUP: return "MSG_LOOKUP";
	case MSG_LOOKUP_R: return "MSG_LOOKUP_R";
	case MSG_APPEND: return "MSG_APPEND";
	case MSG_APPEND_R: return "MSG_APPEND_R";
	case MSG_AUTH: return "MSG_AUTH";
	case MSG_AUTH_R: return "MSG_AUTH_R";
	case MSG_RETR: return "MSG_RETR";
	case MSG_RETR_R: return "MSG_RETR_R";
	case MSG_DELE: return "MSG_DELE";
	case MSG_DELE_R: return "MSG_DELE_R";
	case MSG_UNDO: return "MSG_UNDO";
	case MSG_UNDO_R: return "MSG_UNDO_R";
	case MSG_COMMIT: return "MSG_COMMIT";
	case MSG_COMMIT_R: return "MSG_COMMIT_R";
	case MSG_RELEASE: return "MSG_RELEASE";
	case MSG_RELEASE_R: return "MSG_RELEASE_R";
	case MSG_TLS_CERT: return "MSG_TLS_CERT";
	case MSG_TLS_KEY: return "MSG_TLS_KEY";
	case MSG_TLS_DONE: return "MSG_TLS_DONE";
	case MSG_TLS_R: return "MSG_TLS_R";
	case MSG_SIGN: return "MSG_SIGN";
	case MSG_SIGN_R: return "MSG_SIGN_R";
	case MSG_CERTS: return "MSG_CERTS";
	case MSG_CERTS_R: return "MSG_CERTS_R";
	default: return "MSG_UNKNOWN";
	}
}
