"""Problem management (ITIL): the root cause behind several incidents, its workaround, and
resolving it for every linked incident at once. Suggestions of problems to open come from
recurring incidents (:func:`tickets.problems.services.problem_suggestions`)."""
