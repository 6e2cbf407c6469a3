"""What the tests build and share, one module per subject; every test module imports from here.

- `paths`: the repository's folders and the bundled curriculum file.
- `stores`: filling a test store: the bundled curriculum, pinned rounding draws, the system actor.
- `pages`: AppTest runs of the page scripts and what a page sent to the browser.
- `pulses`: one cohort with an open pulse (`Group`), its template database, answers and counts.
- `pulse_page`: the participant's page at /pulse over HTTP: its fixtures and a page as read.
- `results`: cohorts with held sessions and closed pulses for the cohort results and mirror.
- `programs`: programs of several cohorts (`World`) for the program-lead results.
- `program_dashboard`: the program dashboard page, opened on a populated program.
- `hostile`: texts carrying images, links and HTML, and a curriculum version full of them.
"""
