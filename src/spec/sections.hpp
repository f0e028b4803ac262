#pragma once

#include <optional>
#include <vector>

#include "spec/address.hpp"
#include "spec/reader.hpp"
#include "spec/spec.hpp"

// The parsers of ztp.yaml's sections, shared by parse.cpp and the files it is split into.
namespace ztp::spec::detail {

// Where an environment's values were written, for the checks that span environments.
struct EnvironmentMarks {
  Position name;
  Position listen;
  Position preview_listen;
  std::optional<Position> replicas;  // when written
  std::optional<ListenAddress> listen_address;
  std::optional<ListenAddress> preview_address;
  std::vector<Position> verify;  // one per entry of `verify`
};

// Checks `name` against [a-z0-9-]+ (a DNS label); reports at `at` when it is not one.
bool check_name(Reader& r, const std::string& name, const std::string& what, Position at);

// `checks:`: named suites of HTTP checks.
void parse_checks(Reader& r, const Value& v, std::vector<CheckSuite>& out);

// `environments:`, in order, with the positions the cross checks report at.
void parse_environments(Reader& r, const Value& v, std::vector<Environment>& out,
                        std::vector<EnvironmentMarks>& marks);

// Rules across environments and sections: unique names and listen addresses, known suites
// in `verify`, front doors outside the replica port range, and a port range that holds every
// local environment's replicas at their peak (check_port_capacity).
void check_environments(Reader& r, const Spec& spec, const std::vector<EnvironmentMarks>& marks);

// Reports, at the `replicas` of the environment that needs most, when service.port_range holds
// fewer ports than the local environments' peak_replicas added up.
void check_port_capacity(Reader& r, const Spec& spec, const std::vector<EnvironmentMarks>& marks);

}  // namespace ztp::spec::detail
