#pragma once
// Private to the sweep layer: new YAML mappings made of a document's own nodes.
//
// Why an arena: yaml-cpp links two nodes by copying the whole node set of one's memory into the
// other's and then pointing the first at the copy. A fresh mapping per combination that takes the
// document's nodes therefore copies the document plus every earlier combination: quadratic, 13 s for 16,000
// combinations. Mappings created inside a host sequence that was linked to the document once live in
// the document's memory already, so linking them to its nodes copies nothing.

#include <yaml-cpp/yaml.h>

namespace kvsweep::sweep::detail {

class NodeArena {
 public:
  explicit NodeArena(const YAML::Node& document) : host_(YAML::NodeType::Sequence) {
    host_.push_back(document);
  }

  // An empty mapping in the document's memory. Keys and values added with force_insert keep their own
  // identity (and so their file:line:col marks). It lives as long as the document.
  YAML::Node new_map() {
    YAML::Node m = host_[host_.size()];
    m = YAML::Node(YAML::NodeType::Map);
    return m;
  }

 private:
  YAML::Node host_;
};

}  // namespace kvsweep::sweep::detail
