// dlopen'ed by remote_call_test, never linked.
extern "C" int mproc_remote_plugin_answer() { return 42; }
