#pragma once

// The Asio coroutine support every coroutine file of the proxy includes first.
//
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>, and GCC 12
// reports a false -Wmismatched-new-delete on Asio's recycled coroutine frames (the frame's
// class-specific operator new/delete do match).
#include <utility>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
