#include "proxy/proxy.hpp"

#include "proxy/control.hpp"

namespace ztp::proxy {

Proxy::Proxy(ProxyOptions options) : m_control(std::make_unique<Control>(std::move(options))) {}

Proxy::~Proxy() = default;

Result<void> Proxy::start() { return m_control->start(); }

void Proxy::request_shutdown() { m_control->request_shutdown(); }

void Proxy::wait() { m_control->wait(); }

}  // namespace ztp::proxy
