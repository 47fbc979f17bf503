#ifndef FRONTIER_CZMQ_SHIM_H
#define FRONTIER_CZMQ_SHIM_H
#include <zmq.h>
#endif
