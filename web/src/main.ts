document.getElementById('app')!.textContent = 'Music Playground';
