// Package metrics owns avatarbus's Prometheus collectors: what is counted, under which names and
// labels, and with which buckets. The HTTP tier (package ingest) and the router record through the
// small methods of [Metrics], [Source] and [Route]; they never touch prometheus types themselves, so
// the names and label sets stay in this one package and their cardinality stays bounded.
//
// Label values are only ever configured names (sources, routes) and the fixed codes declared here
// or in package verify: a name taken from a request never becomes a label value.
//
// metrics imports nothing of avatarbus.
package metrics
