// oauthdemo-apid: wiring only; see daemon/app.h.
#include "daemon/app.h"

int main(int argc, char** argv) { return oauthdemo::daemon::run_daemon(argc, argv); }
