// Linux epoll for the load generator's receiver threads (Glibc's Swift module leaves it out).
#include <sys/epoll.h>
