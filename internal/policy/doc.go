// Package policy is Picket's one policy language: YAML documents whose
// conditions are CEL expressions (cel.dev/cel-go). The Docker guard's request
// policy, the registry guard's pull gate and the runtime agent's detection
// rules are all documents of this package; each caller brings its own CEL
// environment (the variables its conditions may read) and decides what a
// rule's action means.
//
// # Document format
//
//	lists:                       # name -> strings; usable in conditions by name
//	  sensitive_paths: [/, /etc, /proc]
//	  shells: {append: true, items: [zsh]}   # append to a list of an earlier document
//	macros:                      # name -> CEL fragment; usable by name in conditions and macros
//	  is_root: 'exec.user == "" || exec.user == "root" || exec.user == "0"'
//	rules:
//	  - id: exec-as-root         # unique within the merged set
//	    description: exec sessions must not run as root
//	    message: exec as root is not allowed    # shown to the user / in the alert
//	    condition: is_root && !(identity.name in admins)
//	    exceptions:              # the rule matches only if no exception is true
//	      - 'identity.groups.exists(g, g == "ops")'
//	    action: deny             # free string; the caller validates it
//	    priority: high           # critical|high|medium|low|info (default medium)
//	    tags: [T1611]            # e.g. MITRE ATT&CK ids
//	    enabled: true            # default true
//	    labels: {source: exec}   # free string map for the caller
//
// Lists are expanded to CEL list literals and macros to parenthesised
// sub-expressions before compilation, so `x in some_list` becomes a constant
// set lookup once cel-go's optimizer has run. A list item that names another
// list is spliced in. A macro or list name is replaced only where it is a
// bare identifier (not after a '.', not before '(' and not inside a string
// literal); macro cycles are refused. Names must not clash with the
// environment's variables.
//
// # Merging
//
// Compile merges documents in the order given (built-in defaults first, then
// user files):
//   - a list or macro defined again replaces the earlier definition, unless
//     the list says `append: true`, in which case its items are appended;
//   - a rule whose id was seen before replaces the earlier rule in place
//     (keeping its position); a rule entry with only `id` and `enabled`
//     switches an earlier rule on or off without restating it.
//
// # Errors
//
// Parse and Compile report every problem they find, each as
// "file:line:column: message" with YAML positions; CEL syntax errors point at
// the offending column inside the condition, type errors at the condition.
//
// # Evaluation
//
// Set.Eval runs the compiled programs (optimised, with a cost limit) over one
// activation and returns the matching rules in document order. A rule whose
// condition or exceptions fail to evaluate (for example a missing map key) is
// not a match; the failure is returned in an *EvalError joined into the
// error, so gates can fail closed and detectors can count it.
package policy
