/*
 * What the sensor node's hardware layer needs on Espruino's Linux build only (boards/NODE_LINUX.py and
 * NODE_ESP32.py): a hardware random source and a console that behaves as a board's serial line.
 */
#include "jsinteractive.h"
#include "jswrapper.h"
#include "jshardware.h"
#include "jsdevices.h"
#include "jswrap_node_linux.h"
#include "jswrap_node_hardware.h"

/*
 * The ESP32's hardware random number generator behind E.hwRand() (Espruino's Linux port answers it with the same
 * unseeded generator as Math.random, so it would repeat after every start). The board files link every call to
 * jshGetRandomNumber here (-Wl,--wrap). Math.random() keeps Espruino's unseeded generator, as on a board.
 */
#include <stdio.h>
unsigned int __wrap_jshGetRandomNumber() {
  static FILE *f;
  unsigned int r = 0;
  if (!f) f = fopen("/dev/urandom", "rb");
  if (!f || fread(&r, sizeof(r), 1, f) != 1) r = (unsigned int)jshGetSystemTime();
  return r;
}

/*
 * Console input. On a board, characters reach Espruino's input queue from an interrupt, which the main loop masks
 * while it takes events out. The Linux port reads the console on a thread of its own that pushes into the same
 * queue with nothing to exclude the main loop, and lines typed while datagrams arrived were lost or ran again and
 * again. The board files link the port's jshPushIOCharEvent calls here (-Wl,--wrap): characters from that thread
 * wait in a queue of our own, which the main loop empties on every pass (an idle hook), so only the main loop
 * touches Espruino's. Ctrl-C goes through at once, as its interrupt does on a board.
 */
#include <pthread.h>
#include <stdatomic.h>
#define CONSOLE_QUEUE 4096
static unsigned char consoleQueue[CONSOLE_QUEUE];
static atomic_uint consoleHead, consoleTail; // written only by the console thread / the main loop
static pthread_t mainThread;
static bool mainThreadKnown;
void __real_jshPushIOCharEvent(IOEventFlags channel, char ch);
void __wrap_jshPushIOCharEvent(IOEventFlags channel, char ch) {
  if (!mainThreadKnown || pthread_equal(pthread_self(), mainThread) || channel != EV_USBSERIAL || ch == 3) {
    __real_jshPushIOCharEvent(channel, ch);
    return;
  }
  unsigned int head = atomic_load(&consoleHead);
  if (((head + 1) % CONSOLE_QUEUE) == atomic_load(&consoleTail)) return; // full: lost, as a board's UART overruns
  consoleQueue[head] = (unsigned char)ch;
  atomic_store(&consoleHead, (head + 1) % CONSOLE_QUEUE);
}

/*
 * Rest while nothing is due. With a socket open the main loop never sleeps (socketIdle() counts an open socket as
 * work), so an interpreter whose node had its UDP socket open kept a desktop core at 100 % for as long as it ran.
 * A board spins the same way, on a core of its own; on a desktop that core is shared with the peers and the tests.
 * A pass with no event waiting and no timer due now sleeps a millisecond: a timer is never later than that, and a
 * datagram that arrives, or one a pass queued to send, waits at most that long.
 */
#include <time.h>
static void restWhileIdle(bool consoleWaiting) {
  if (consoleWaiting || jsMsUntilWork() == 0) return;
  struct timespec ms = { 0, 1000000 };
  nanosleep(&ms, NULL);
}

/*JSON{
  "type" : "idle",
  "generate" : "jswrap_node_linux_idle"
}*/
bool jswrap_node_linux_idle() {
  if (!mainThreadKnown) {
    mainThread = pthread_self();
    mainThreadKnown = true;
  }
  unsigned int tail = atomic_load(&consoleTail);
  while (tail != atomic_load(&consoleHead) && jshGetEventsUsed() < IOBUFFERMASK / 2) {
    __real_jshPushIOCharEvent(EV_USBSERIAL, (char)consoleQueue[tail]);
    tail = (tail + 1) % CONSOLE_QUEUE;
    atomic_store(&consoleTail, tail);
  }
  restWhileIdle(tail != atomic_load(&consoleHead));
  // Not busy: what was moved is an event now, and the main loop does not sleep while it has events.
  return false;
}

/*
 * End of console input. The Linux port's reader takes read()'s 0 at the end of standard input for a character (an
 * uninitialised one) and pushes it forever. A board's serial line at rest gives nothing: so does this, for fd 0.
 */
#include <errno.h>
#include <unistd.h>
ssize_t __real_read(int fd, void *buf, size_t count);
ssize_t __wrap_read(int fd, void *buf, size_t count) {
  ssize_t r = __real_read(fd, buf, count);
  if (fd == 0 && r == 0) {
    usleep(50000);
    errno = EAGAIN;
    return -1;
  }
  return r;
}

/*
 * A UDP socket's receive queue. Espruino's network layer sets SO_RCVBUF to the socket's recvBufferSize (1,152 bytes
 * for the node). Linux charges each queued datagram its whole buffer, about twice a 1 kB datagram's size, so that
 * queue held one datagram: the server's empty ACK and the 1 kB separate response right behind it (an OTA chunk)
 * arrived together, the kernel dropped the response, and each chunk waited for the server's retransmission (2 to 3 s;
 * seen on this build once its loop rests). A board's lwIP counts only the payload against SO_RCVBUF, and queues
 * datagrams in a mailbox of its own (ESP-IDF's default holds 6). The board files link setsockopt here (-Wl,--wrap):
 * SO_RCVBUF gets eight times what was asked, room for about six datagrams of that size.
 */
#include <sys/socket.h>
int __real_setsockopt(int fd, int level, int name, const void *value, socklen_t length);
int __wrap_setsockopt(int fd, int level, int name, const void *value, socklen_t length) {
  if (level == SOL_SOCKET && name == SO_RCVBUF && length == sizeof(int)) {
    int room = *(const int *)value * 8;
    return __real_setsockopt(fd, level, name, &room, length);
  }
  return __real_setsockopt(fd, level, name, value, length);
}
