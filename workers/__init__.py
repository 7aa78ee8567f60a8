"""Workers: the job code. Surveyors discover, downloaders fetch, processors compute."""
